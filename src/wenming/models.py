"""Imports every model so that the metadata is complete (migrations, tests)."""

from wenming.auth import models as auth_models
from wenming.core.db import Base
from wenming.geo import models as geo_models
from wenming.org import models as org_models

__all__ = ["Base", "auth_models", "geo_models", "org_models"]
