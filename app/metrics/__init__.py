"""Metrics for managers' dashboards: SQL aggregations (queries), A/B statistics (stats), A/B view (ab)."""
from app.metrics.sql import Filters

__all__ = ["Filters"]
