"""Imports every model so that the metadata is complete (migrations, tests)."""

from wenming.attachments import models as attachment_models
from wenming.auth import models as auth_models
from wenming.cases import models as case_models
from wenming.cases import verification_models as case_verification_models
from wenming.core.db import Base
from wenming.evaluation import models as evaluation_models
from wenming.geo import models as geo_models
from wenming.geo.gazetteer import models as gazetteer_models
from wenming.notify import models as notify_models
from wenming.org import models as org_models
from wenming.phone import models as phone_models

__all__ = [
    "Base",
    "attachment_models",
    "auth_models",
    "case_models",
    "case_verification_models",
    "evaluation_models",
    "gazetteer_models",
    "geo_models",
    "notify_models",
    "org_models",
    "phone_models",
]
