# Ported from FastAPI 0.141.1 (fastapi/openapi/constants.py), MIT License,
# Copyright (c) 2018 Sebastián Ramírez; see fasterapi/openapi/LICENSE-FastAPI.
METHODS_WITH_BODY = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}
REF_PREFIX = "#/components/schemas/"
REF_TEMPLATE = "#/components/schemas/{model}"
