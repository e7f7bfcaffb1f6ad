"""Metrics for managers' dashboards: SQL aggregations (queries), A/B statistics (stats), A/B view (ab)."""
from app.metrics.queries import Filters

__all__ = ["Filters"]
