"""The guide app's OpenAPI document: valid, and exact about every posts route (DESIGN: Routes and OpenAPI).

ViewSets become ordinary FastAPI routes with real signatures, so `/openapi.json` documents request
bodies (`input_schema`, a no-field-required version for PATCH), response models (`output_schema`,
the paginated envelope for list), the typed `{id}`, the list's query parameters and tags.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

POSTS = "/api/v1/posts/"
POST = "/api/v1/posts/{id}/"
REF = "#/components/schemas/"

#: Every posts route with its methods: CRUD, then the @action routes (trailing slashes as in the guide).
POSTS_ROUTES = {
    POSTS: {"get", "post"},
    POST: {"get", "put", "patch", "delete"},
    "/api/v1/posts/{id}/publish/": {"post"},
    "/api/v1/posts/{id}/unpublish/": {"post"},
    "/api/v1/posts/{id}/stats/": {"get"},
    "/api/v1/posts/featured/": {"get"},
    "/api/v1/posts/bulk-title/": {"post"},
}
DETAIL_OPERATIONS = [
    (path, method) for path, methods in POSTS_ROUTES.items() if "{id}" in path for method in methods
]
#: The list action's query parameters, in order, with their JSON types.
LIST_PARAMETERS = {
    "page": "integer",
    "page_size": "integer",
    "search": "string",
    "ordering": "string",
    "is_published": "boolean",
    "views_count": "integer",
    "views_count__gte": "integer",
    "views_count__lte": "integer",
    "views_count__in": "string",
    "views_count__range": "string",
    "slug__in": "string",
    "created_at__range": "string",
    "author__email": "string",
}


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


def operation(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return document["paths"][path][method]


def schema_named(document: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith(REF), ref
    return document["components"]["schemas"][ref.removeprefix(REF)]


def json_schema(content_holder: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a requestBody or a response (and nothing but JSON)."""
    assert list(content_holder["content"]) == ["application/json"]
    return content_holder["content"]["application/json"]["schema"]


def json_types(schema: dict[str, Any]) -> set[str]:
    """`{"type": "integer"}` or `{"anyOf": [{"type": "integer"}, {"type": "null"}]}` -> {"integer"}."""
    options = schema.get("anyOf", [schema])
    return {option["type"] for option in options} - {"null"}


def all_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    ]


async def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # raises OpenAPIValidationError with the failing path
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "Guide API"
    assert document["info"]["version"] == "1.0.0"


async def test_every_posts_route_is_documented_with_its_methods(document: dict[str, Any]) -> None:
    documented = {
        path: set(item)
        for path, item in document["paths"].items()
        if path.startswith("/api/v1/posts/")
    }
    assert documented == POSTS_ROUTES
    # No route of any ViewSet lacks the guide's trailing slash (no /posts or /posts/{id}).
    api_paths = [path for path in document["paths"] if path.startswith("/api/")]
    assert api_paths
    assert all(path.endswith("/") for path in api_paths), api_paths


async def test_create_and_update_take_the_input_schema(document: dict[str, Any]) -> None:
    for method in ("post", "put"):
        path = POSTS if method == "post" else POST
        body = operation(document, path, method)["requestBody"]
        assert body["required"] is True
        assert json_schema(body) == {"$ref": f"{REF}PostInput"}

    post_input = schema_named(document, f"{REF}PostInput")
    assert post_input["type"] == "object"
    assert post_input["required"] == ["title", "slug", "content"]
    assert {name: prop["type"] for name, prop in post_input["properties"].items()} == {
        "title": "string",
        "slug": "string",
        "content": "string",
        "is_published": "boolean",
    }
    assert post_input["properties"]["is_published"]["default"] is False


async def test_partial_update_takes_a_schema_where_nothing_is_required(
    document: dict[str, Any],
) -> None:
    body = operation(document, POST, "patch")["requestBody"]
    ref = json_schema(body)["$ref"]
    assert ref != f"{REF}PostInput"
    patched = schema_named(document, ref)
    post_input = schema_named(document, f"{REF}PostInput")
    assert patched["type"] == "object"
    assert not patched.get("required")
    # The same fields with the same types: only their being required differs.
    assert {name: prop["type"] for name, prop in patched["properties"].items()} == {
        name: prop["type"] for name, prop in post_input["properties"].items()
    }


@pytest.mark.parametrize(
    ("path", "method", "status", "errors"),
    [
        # AllowAny, yet a bad Bearer token is a 401; an id that does not parse is a 404.
        (POST, "get", "200", {"401", "404", "503"}),
        (POST, "put", "200", {"400", "401", "403", "404", "413", "422", "503"}),
        (POST, "patch", "200", {"400", "401", "403", "404", "413", "422", "503"}),
        (POSTS, "post", "201", {"400", "401", "403", "413", "422", "503"}),
    ],
)
async def test_object_responses_are_the_output_schema(
    document: dict[str, Any], path: str, method: str, status: str, errors: set[str]
) -> None:
    responses = operation(document, path, method)["responses"]
    assert set(responses) == {status, *errors}
    assert json_schema(responses[status]) == {"$ref": f"{REF}PostOutput"}
    for code in errors:
        expected = "ValidationErrorResponse" if code == "422" else "ErrorMessage"
        assert json_schema(responses[code]) == {"$ref": f"{REF}{expected}"}


@pytest.mark.parametrize(
    ("path", "method", "optional"),
    [
        (POSTS, "get", True),
        (POST, "get", True),
        ("/api/v1/posts/featured/", "get", True),
        (POSTS, "post", False),
        (POST, "delete", False),
        ("/api/v1/posts/bulk-title/", "post", False),
    ],
)
async def test_bearer_auth_is_documented_as_optional_where_anyone_may_call(
    document: dict[str, Any], path: str, method: str, optional: bool
) -> None:
    security = operation(document, path, method)["security"]
    expected = [{"HTTPBearer": []}, {}] if optional else [{"HTTPBearer": []}]
    assert security == expected


async def test_the_output_schema_lists_every_field_with_its_type(document: dict[str, Any]) -> None:
    post_output = schema_named(document, f"{REF}PostOutput")
    properties = post_output["properties"]
    assert set(post_output["required"]) == set(properties)
    assert {name: json_types(prop) for name, prop in properties.items()} == {
        "id": {"integer"},
        "title": {"string"},
        "slug": {"string"},
        "content": {"string"},
        "is_published": {"boolean"},
        "views_count": {"integer"},
        "created_at": {"string"},
        "updated_at": {"string"},
    }
    assert properties["created_at"]["format"] == "date-time"
    assert properties["updated_at"]["anyOf"] == [
        {"type": "string", "format": "date-time"},
        {"type": "null"},
    ]


async def test_list_responds_with_the_paginated_envelope(document: dict[str, Any]) -> None:
    responses = operation(document, POSTS, "get")["responses"]
    assert set(responses) == {"200", "401", "404", "422", "503"}
    envelope = schema_named(document, json_schema(responses["200"])["$ref"])
    assert envelope["type"] == "object"
    properties = envelope["properties"]
    assert list(properties) == ["count", "next", "previous", "results"]
    # DRF's envelope always carries all four keys; next/previous are null at the ends.
    assert set(envelope["required"]) == {"count", "next", "previous", "results"}
    assert properties["count"]["type"] == "integer"
    for link in ("next", "previous"):
        assert properties[link]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert properties["results"]["type"] == "array"
    assert properties["results"]["items"] == {"$ref": f"{REF}PostOutput"}


async def test_list_documents_pagination_search_ordering_and_each_filter(
    document: dict[str, Any],
) -> None:
    parameters = operation(document, POSTS, "get")["parameters"]
    assert [param["name"] for param in parameters] == list(LIST_PARAMETERS)
    for param in parameters:
        assert param["in"] == "query"
        assert param["required"] is False
        assert json_types(param["schema"]) == {LIST_PARAMETERS[param["name"]]}, param
    by_name = {param["name"]: param["schema"] for param in parameters}
    for name in ("page", "page_size"):
        assert by_name[name]["anyOf"][0] == {"type": "integer", "minimum": 1}
    assert by_name["search"]["anyOf"][0]["maxLength"] == 200
    # `ordering` is one of the allowed fields, ascending or descending: an enum.
    fields = ["created_at", "views_count", "title", "id"]
    assert by_name["ordering"]["anyOf"][0] == {
        "type": "string",
        "enum": [*fields, *(f"-{field}" for field in fields)],
    }
    # `in` and `range` are comma-separated strings; the description names the item type.
    described = {param["name"]: param.get("description") for param in parameters}
    assert described["views_count__in"] == (
        "Comma-separated integer values (at most 5); matches any of them."
    )
    assert described["views_count__range"] == (
        "Two comma-separated integer values, the inclusive bounds: low,high."
    )
    assert "date-time" in described["created_at__range"]
    assert "string values" in described["slug__in"]
    assert by_name["author__email"]["anyOf"][0]["maxLength"] == 255
    # Only list takes query parameters.
    for path, method, op in all_operations(document):
        if path.startswith("/api/v1/posts/") and (path, method) != (POSTS, "get"):
            assert all(param["in"] == "path" for param in op.get("parameters", [])), (path, method)


@pytest.mark.parametrize(("path", "method"), DETAIL_OPERATIONS)
async def test_the_id_path_parameter_is_an_integer(
    document: dict[str, Any], path: str, method: str
) -> None:
    parameters = operation(document, path, method)["parameters"]
    assert [param["name"] for param in parameters] == ["id"]
    (param,) = parameters
    assert param["in"] == "path"
    assert param["required"] is True
    # Post.id is an IntField: the documented range is the column's, so larger ids are a 404.
    assert param["schema"]["type"] == "integer"
    assert param["schema"]["minimum"] == -(2**31)
    assert param["schema"]["maximum"] == 2**31 - 1


async def test_collection_routes_take_no_path_parameter(document: dict[str, Any]) -> None:
    for path in (POSTS, "/api/v1/posts/featured/", "/api/v1/posts/bulk-title/"):
        for method in POSTS_ROUTES[path]:
            parameters = operation(document, path, method).get("parameters", [])
            assert all(param["in"] != "path" for param in parameters), (path, method)


async def test_destroy_documents_204_without_a_body(document: dict[str, Any]) -> None:
    responses = operation(document, POST, "delete")["responses"]
    assert set(responses) == {"204", "401", "403", "404", "503"}  # a bad id is a 404
    assert "content" not in responses["204"]
    assert "requestBody" not in operation(document, POST, "delete")


async def test_an_action_with_schemas_is_documented_like_crud(document: dict[str, Any]) -> None:
    op = operation(document, "/api/v1/posts/bulk-title/", "post")
    assert op["requestBody"]["required"] is True
    assert json_schema(op["requestBody"]) == {"$ref": f"{REF}ChangePasswordInput"}
    assert set(op["responses"]) == {"201", "400", "401", "403", "413", "422", "503"}
    assert json_schema(op["responses"]["201"]) == {"$ref": f"{REF}PostOutput"}
    assert op["description"].startswith("An action with declared schemas")
    change_password = schema_named(document, f"{REF}ChangePasswordInput")
    assert change_password["required"] == ["current_password", "new_password"]


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/posts/{id}/publish/", "post"),
        ("/api/v1/posts/{id}/unpublish/", "post"),
        ("/api/v1/posts/{id}/stats/", "get"),
        ("/api/v1/posts/featured/", "get"),
    ],
)
async def test_actions_without_schemas_have_no_body_and_a_200(
    document: dict[str, Any], path: str, method: str
) -> None:
    op = operation(document, path, method)
    assert "requestBody" not in op
    assert "200" in op["responses"]
    assert json_schema(op["responses"]["200"]) == {}
    # The action's docstring is its description.
    assert op["description"].startswith(f"{method.upper()} {path.removeprefix('/api/v1')}")


async def test_operations_are_tagged_once(document: dict[str, Any]) -> None:
    for path, method, op in all_operations(document):
        if path.startswith("/api/v1/posts/"):
            assert op["tags"] == ["Posts"], (path, method)
        elif path.startswith("/api/v1/auth/"):
            assert op["tags"] == ["Authentication"], (path, method)
    assert operation(document, "/health", "get")["tags"] == ["System"]
    assert operation(document, "/dashboard", "get")["tags"] == ["Admin"]
    # A ViewSet's own `tags` apply where its router has none.
    assert operation(document, "/api/v1/articles/", "get")["tags"] == ["Posts"]


async def test_bearer_auth_is_documented(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["HTTPBearer"].items()
    for path, method, op in all_operations(document):
        if path.startswith("/api/v1/posts/"):
            assert {"HTTPBearer": []} in op["security"], (path, method)


async def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [op.get("operationId") for _, _, op in all_operations(document)]
    assert all(ids)
    assert len(ids) == len(set(ids))
    assert len(ids) > len(POSTS_ROUTES)  # the whole app, not only the posts routes


async def test_error_bodies_are_documented_in_one_shape(document: dict[str, Any]) -> None:
    """A message for every status but 422; 422 lists field errors without `input` or `ctx`."""
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ErrorMessage"]["properties"] == {
        "detail": {"type": "string", "title": "Detail"}
    }
    assert schemas["ValidationErrorResponse"]["properties"]["detail"]["items"] == {
        "$ref": f"{REF}FieldError"
    }
    assert set(schemas["FieldError"]["properties"]) == {"loc", "msg", "type"}
    for path, method, op in all_operations(document):
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                expected = "ValidationErrorResponse" if code == "422" else "ErrorMessage"
                assert json_schema(response) == {"$ref": f"{REF}{expected}"}, (path, method, code)


async def test_input_strings_carry_the_model_columns_max_length(document: dict[str, Any]) -> None:
    """Post.title and Post.slug are CharField(max_length=200): so is the documented input."""
    post_input = schema_named(document, f"{REF}PostInput")["properties"]
    assert post_input["title"]["maxLength"] == 200
    assert post_input["slug"]["maxLength"] == 200
    assert "maxLength" not in post_input["content"]  # a TextField
    patch = operation(document, POST, "patch")["requestBody"]
    patched = schema_named(document, json_schema(patch)["$ref"])["properties"]
    assert patched["title"]["maxLength"] == 200


async def test_a_bad_path_id_is_documented_as_what_happens_a_404(
    document: dict[str, Any], client: httpx.AsyncClient
) -> None:
    # The documented answer is what happens: `{id}` is an integer, and "abc" is a 404.
    assert "422" not in operation(document, POST, "get")["responses"]
    response = await client.get(f"{POSTS}abc/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
