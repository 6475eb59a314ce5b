"""OpenAPI: ``fasterapi.openapi`` as ``fastapi.openapi`` (``utils.get_openapi``, the docs
pages of ``docs``, the document models of ``models``)."""
