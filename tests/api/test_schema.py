"""The OpenAPI schema: valid OpenAPI 3, served at a stable URL, and the API keeps to it
under property-based requests generated from it (Schemathesis)."""

from __future__ import annotations

import json
import os

import schemathesis
from django.db import transaction
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import wsgi_app

# Examples per operation in `make test` (bounded; raise it for a longer local run).
EXAMPLES = int(os.environ.get("QB_SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _schema(client) -> dict:
    response = client.get("/api/v1/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_schema_is_valid_openapi_3_and_complete(client, db):
    schema = _schema(client)
    validate_schema(schema)  # drf-spectacular's check against the OpenAPI 3 meta-schema
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": "A personal token from your account page (qb_...)."}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            codes = set(operation["responses"])
            assert {"401", "403", "429"} <= codes, (method, path)
            for code in codes - {"200", "201"}:
                ref = operation["responses"][code]["content"]["application/json"]["schema"]
                assert ref == {"$ref": "#/components/schemas/Error"}, (method, path, code)
    assert "Idempotency-Key" in {p["name"] for p in
                                 schema["paths"]["/api/v1/batches/"]["post"]["parameters"]}


def test_docs_page_works_offline(client, db):
    page = client.get("/api/v1/docs/").content.decode()
    assert "/api/v1/schema/" in page
    assert "http://" not in page.replace("http://testserver", "") and "https://" not in page
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    script = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert script.status_code == 200


def test_api_keeps_to_its_schema_under_generated_requests(client, bank, tokens, settings):
    """For every operation, Schemathesis generates requests (an admin's token, who may
    call everything); no answer is a 500, and every answer's status, content type and
    body are ones the schema documents."""
    settings.QB_API_RATE_PER_MINUTE = 100_000  # 429 is documented, but would test nothing
    schema = schemathesis.openapi.from_dict(_schema(client))
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    failures = []
    with wsgi_app() as app:
        schema.app = app
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 25
        for operation in operations:
            _run(operation, headers, failures)
    assert not failures, "\n\n".join(failures)


def _run(operation, headers: dict, failures: list) -> None:
    # No shrinking: a failure is reported as found (shrinking multiplies the run time).
    # Derandomized: the same examples every run (QB_SCHEMATHESIS_RANDOM=1 explores anew).
    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None,
                         derandomize=not os.environ.get("QB_SCHEMATHESIS_RANDOM"),
                         phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        with transaction.atomic():  # each request's writes are undone after it
            case.call_and_validate(headers=headers, checks=CHECKS)
            transaction.set_rollback(True)

    try:
        run()
    except Exception as exc:  # collect every operation's failures, then report them all
        failures.append(f"{operation.method.upper()} {operation.path}: {exc!r}"[:3000])
