"""Fuzzing the JSON API from its own OpenAPI document: whatever path ids, query, body and content type
are sent, by a signed-in contestant with a real attempt or by a stranger, nothing answers 500, and
every refusal is JSON with a message. New operations in the document are fuzzed without a change here."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quiz_engine.extensions import db
from tests import contest_fixture

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=12,
)
# Bodies shaped like the real ones, so the fuzz reaches past the first type check.
SHAPED = st.fixed_dictionaries(
    {},
    optional={
        "choices": st.lists(st.integers(-3, 10) | st.text(max_size=3), max_size=7) | JSON,
        "value": st.integers(-(10**20), 10**20) | st.floats() | JSON,
        "answers": st.dictionaries(st.text(max_size=3), st.lists(st.integers(-2, 8), max_size=4) | JSON, max_size=4),
        "prediction": st.integers(-(10**20), 10**20) | JSON,
    },
)
RAW = st.binary(max_size=200)
CONTENT_TYPES = st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""])
IDS = st.integers(0, 2**63) | st.sampled_from(["real", "real", "real"])


@pytest.fixture
def config_overrides() -> dict[str, object]:
    return {"RATE_LIMIT_ANSWER_SAVE": "100000 per minute", "RATE_LIMIT_ATTEMPT_START": "100000 per minute"}


@pytest.fixture
def api(app):  # type: ignore[no-untyped-def]
    """The operations of the OpenAPI document, a signed-in contestant, and the real ids to aim at."""
    with app.app_context():
        built = contest_fixture.build(
            db.session, per_paper=4, prediction_kind="participants", prediction_prompt="Bao nhiêu?"
        )
        round_id = built.round.id
    client = app.test_client()
    client.post("/auth/login", data={"login": "an@example.vn", "password": "mat-khau-123"})
    attempt_id = client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()["id"]
    document = client.get("/api/v1/openapi.json").get_json()
    operations = [(path, method) for path, ops in document["paths"].items() for method in ops if method != "parameters"]
    real = {"round_id": round_id, "attempt_id": attempt_id, "position": 1}
    return client, operations, real


def _fill(path: str, real: dict[str, int], ids: dict[str, object]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        chosen = ids.get(name, "real")
        return str(real.get(name, 1) if chosen == "real" else chosen)

    return re.sub(r"{(\w+)}", value, path)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_input_makes_the_api_fail(app, api, data) -> None:  # type: ignore[no-untyped-def]
    client, operations, real = api
    path, method = data.draw(st.sampled_from(operations), label="operation")
    ids = {name: data.draw(IDS, label=name) for name in re.findall(r"{(\w+)}", path)}
    url = _fill(path, real, ids)
    kind = data.draw(st.sampled_from(["json", "shaped", "raw", "none"]), label="body")
    kwargs: dict[str, object] = {}
    if kind == "json":
        kwargs = {"data": json.dumps(data.draw(JSON, label="json")), "content_type": "application/json"}
    elif kind == "shaped":
        kwargs = {"data": json.dumps(data.draw(SHAPED, label="shaped")), "content_type": "application/json"}
    elif kind == "raw":
        kwargs = {"data": data.draw(RAW, label="raw"), "content_type": data.draw(CONTENT_TYPES, label="type")}
    query = data.draw(st.dictionaries(st.sampled_from(["limit", "group", "lang", "x"]), st.text(max_size=8)), label="q")
    response = client.open(url, method=method.upper(), query_string=query, **kwargs)
    assert response.status_code < 500, (method, url, kwargs, response.get_data(as_text=True)[:300])
    if response.status_code >= 400:
        body = response.get_json(silent=True)
        assert isinstance(body, dict) and body.get("error") and body.get("status") == response.status_code


def test_json_nested_too_deep_to_parse_is_refused_with_400_and_saves_nothing(api, app) -> None:  # type: ignore[no-untyped-def]
    """100,000 levels of ``[`` overflow Python's parser (RecursionError): that is bad input, not a 500."""
    client, _operations, real = api
    paper = client.get(f"/api/v1/attempts/{real['attempt_id']}").get_json()
    save_url = paper["questions"][0]["save_url"]
    deep = "[" * 100_000 + "]" * 100_000
    for method, url in (
        ("PUT", save_url),
        ("PUT", paper["prediction"]["save_url"]),
        ("POST", paper["links"]["submit"]),
    ):
        response = client.open(url, method=method, data=deep, content_type="application/json")
        assert response.status_code == 400, (url, response.status_code)
        assert (
            response.get_json()["error"] == "Dữ liệu gửi lên không hợp lệ."
            or "dự đoán" in response.get_json()["error"].lower()
        )
    after = client.get(f"/api/v1/attempts/{real['attempt_id']}").get_json()
    assert after["status"] == "in_progress" and all(q["selected"] == [] for q in after["questions"])
