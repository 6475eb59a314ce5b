"""A handler's signature analysed at registration (``fastapi.dependencies``)."""
