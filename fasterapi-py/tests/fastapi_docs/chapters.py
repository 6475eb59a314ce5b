"""The chapters of FastAPI's tutorial that the compatibility harness measures.

Each chapter names its folders in FastAPI's repository: examples in `docs_src/<docs>` and
their tests in `tests/test_tutorial/<tests>`. `exclude` lists file names (fnmatch patterns)
of those folders that belong to other chapters (the advanced guide), which are neither
vendored nor run. Order: the order of FastAPI's tutorial.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Chapter:
    name: str
    title: str
    docs: str
    tests: str
    exclude: tuple = field(default=())


CHAPTERS = [
    Chapter("first_steps", "First Steps", "first_steps", "test_first_steps"),
    Chapter("path_params", "Path Parameters", "path_params", "test_path_params"),
    Chapter("query_params", "Query Parameters", "query_params", "test_query_params"),
    Chapter("body", "Request Body", "body", "test_body"),
    Chapter("query_params_str_validations", "Query Parameters and String Validations",
            "query_params_str_validations", "test_query_params_str_validations"),
    Chapter("path_params_numeric_validations", "Path Parameters and Numeric Validations",
            "path_params_numeric_validations", "test_path_params_numeric_validations"),
    Chapter("query_param_models", "Query Parameter Models", "query_param_models",
            "test_query_param_models"),
    Chapter("body_multiple_params", "Body - Multiple Parameters", "body_multiple_params",
            "test_body_multiple_params"),
    Chapter("body_fields", "Body - Fields", "body_fields", "test_body_fields"),
    Chapter("body_nested_models", "Body - Nested Models", "body_nested_models",
            "test_body_nested_models"),
    Chapter("extra_data_types", "Extra Data Types", "extra_data_types", "test_extra_data_types"),
    Chapter("cookie_params", "Cookie Parameters", "cookie_params", "test_cookie_params"),
    Chapter("header_params", "Header Parameters", "header_params", "test_header_params"),
    Chapter("cookie_param_models", "Cookie Parameter Models", "cookie_param_models",
            "test_cookie_param_models"),
    Chapter("header_param_models", "Header Parameter Models", "header_param_models",
            "test_header_param_models"),
    Chapter("response_model", "Response Model - Return Type", "response_model",
            "test_response_model"),
    Chapter("extra_models", "Extra Models", "extra_models", "test_extra_models"),
    Chapter("response_status_code", "Response Status Code", "response_status_code",
            "test_response_status_code"),
    Chapter("request_forms", "Form Data", "request_forms", "test_request_forms"),
    Chapter("request_form_models", "Form Models", "request_form_models",
            "test_request_form_models"),
    Chapter("request_files", "Request Files", "request_files", "test_request_files"),
    Chapter("request_forms_and_files", "Request Forms and Files", "request_forms_and_files",
            "test_request_forms_and_files"),
    Chapter("handling_errors", "Handling Errors", "handling_errors", "test_handling_errors"),
    # All of the tutorial's Dependencies sub-chapters (index, classes as dependencies,
    # sub-dependencies, path operation decorators, global, with yield); tutorial011/013/014
    # are the advanced guide's "Advanced Dependencies".
    Chapter("dependencies", "Dependencies", "dependencies", "test_dependencies",
            exclude=("tutorial011*", "tutorial013*", "tutorial014*", "test_tutorial011.py")),
    # First steps (001), get current user (002), simple OAuth2 (003), OAuth2 with JWT (004,
    # needs pyjwt and pwdlib); 005 (scopes), 006/007 (HTTP basic) are the advanced guide.
    Chapter("security", "Security", "security", "test_security",
            exclude=("tutorial005*", "tutorial006*", "tutorial007*", "test_tutorial005.py",
                     "test_tutorial006.py", "test_tutorial007.py")),
    # Middleware, CORS (issue 16 point 3).
    Chapter("middleware", "Middleware", "middleware", "test_middleware"),
    Chapter("cors", "CORS (Cross-Origin Resource Sharing)", "cors", "test_cors"),
    Chapter("bigger_applications", "Bigger Applications", "bigger_applications",
            "test_bigger_applications"),
    # Background tasks (issue 16 point 5).
    Chapter("background_tasks", "Background Tasks", "background_tasks", "test_background_tasks"),
    Chapter("app_testing", "Testing", "app_testing", "test_testing"),
    Chapter("dependency_testing", "Testing Dependencies with Overrides", "dependency_testing",
            "test_testing_dependencies"),
    # The advanced guide's chapters on responses (issue 14 point 5).
    Chapter("response_directly", "Return a Response Directly", "response_directly",
            "test_response_directly"),
    Chapter("custom_response", "Custom Response - HTML, Stream, File, others", "custom_response",
            "test_custom_response"),
    # Streaming responses and server-sent events (issue 15 point 1).
    Chapter("stream_data", "Stream Data", "stream_data", "test_stream_data"),
    Chapter("stream_json_lines", "Stream JSON Lines", "stream_json_lines", "test_stream_json_lines"),
    Chapter("server_sent_events", "Server-Sent Events", "server_sent_events", "test_server_sent_events"),
    # Files and static directories (issue 15 point 2).
    Chapter("static_files", "Static Files", "static_files", "test_static_files"),
    Chapter("response_cookies", "Response Cookies", "response_cookies", "test_response_cookies"),
    Chapter("response_headers", "Response Headers", "response_headers", "test_response_headers"),
    Chapter("response_change_status_code", "Response - Change Status Code",
            "response_change_status_code", "test_response_change_status_code"),
    # The advanced guide's chapter on the request object (issue 14 point 6).
    Chapter("using_request_directly", "Using the Request Directly", "using_request_directly",
            "test_using_request_directly"),
    # Lifespan events and the advanced guide's middleware (issue 16 points 3 and 4; its
    # GZip example is the core's compression, issue 15).
    Chapter("events", "Lifespan Events", "events", "test_events"),
    Chapter("advanced_middleware", "Advanced Middleware", "advanced_middleware",
            "test_advanced_middleware"),
    # OpenAPI and the docs pages (issue 16 points 1, 2 and 7).
    Chapter("metadata", "Metadata and Docs URLs", "metadata", "test_metadata"),
    Chapter("path_operation_configuration", "Path Operation Configuration",
            "path_operation_configuration", "test_path_operation_configurations"),
    Chapter("path_operation_advanced_configuration", "Path Operation Advanced Configuration",
            "path_operation_advanced_configuration", "test_path_operation_advanced_configurations"),
    Chapter("extending_openapi", "Extending OpenAPI", "extending_openapi", "test_extending_openapi"),
    Chapter("sub_applications", "Sub Applications - Mounts", "sub_applications", "test_sub_applications"),
    Chapter("behind_a_proxy", "Behind a Proxy", "behind_a_proxy", "test_behind_a_proxy"),
    Chapter("conditional_openapi", "Conditional OpenAPI", "conditional_openapi", "test_conditional_openapi"),
    Chapter("configure_swagger_ui", "Configure Swagger UI", "configure_swagger_ui", "test_configure_swagger_ui"),
    Chapter("custom_docs_ui", "Custom Docs UI Static Assets", "custom_docs_ui", "test_custom_docs_ui"),
    Chapter("openapi_webhooks", "OpenAPI Webhooks", "openapi_webhooks", "test_openapi_webhooks"),
    Chapter("openapi_callbacks", "OpenAPI Callbacks", "openapi_callbacks", "test_openapi_callbacks"),
    Chapter("separate_openapi_schemas", "Separate OpenAPI Schemas for Input and Output",
            "separate_openapi_schemas", "test_separate_openapi_schemas"),
    Chapter("generate_clients", "Generating SDKs", "generate_clients", "test_generate_clients"),
    # The advanced guide's WebSockets chapter (issue 15 point 4); its "Testing WebSockets"
    # example is app_testing's tutorial002.
    Chapter("websockets", "WebSockets", "websockets_", "test_websockets"),
]

BY_NAME = {c.name: c for c in CHAPTERS}
BY_TEST_FOLDER = {c.tests: c for c in CHAPTERS}
