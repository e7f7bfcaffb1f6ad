"""Alerts: raising and delivering them (`delivery`: `raise_alert`, `on_event`), and the per-Process
alert rules (`rules`, loaded through the one schema in `schemas`, for the API and the queue page)."""
from app.alerts.delivery import alert_type_of, deliver, init_app, on_event, raise_alert
from app.alerts.rules import (can_manage_rules, clean_rule, create_rule, delete_rule, dump_rule, get_process,
                              get_rule, rules_of, update_rule)
from app.alerts.schemas import CHANNELS, EVENT_TYPES, SEVERITIES

__all__ = ["alert_type_of", "deliver", "init_app", "on_event", "raise_alert", "can_manage_rules", "clean_rule", "create_rule",
           "delete_rule", "dump_rule", "get_process", "get_rule", "rules_of", "update_rule", "CHANNELS",
           "EVENT_TYPES", "SEVERITIES"]
