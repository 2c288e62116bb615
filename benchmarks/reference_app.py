"""The app as production serves it, plus two reference endpoints mounted only for the load benchmark.

``gunicorn --config gunicorn.conf.py benchmarks.reference_app:app`` serves exactly ``wsgi:app`` with
``/_bench/constant`` (a constant JSON answer: the floor of any endpoint) and ``/_bench/hset`` (parse
the same JSON body the answer-save endpoint takes and do one Redis HSET: the floor of any endpoint
that stores an answer). They go through the same server, middleware, hooks and Redis pool as the
real endpoints, so the real ones can be quoted as ratios of them, measured in the same run.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from quiz_engine import create_app
from quiz_engine.extensions import csrf, redis_client

bp = Blueprint("bench_reference", __name__, url_prefix="/_bench")
csrf.exempt(bp)


@bp.get("/constant")
def constant() -> ResponseReturnValue:
    return jsonify(ok=True)


@bp.put("/hset/<int:attempt_id>/<int:position>")
def hset(attempt_id: int, position: int) -> ResponseReturnValue:
    body = request.get_json(silent=True)
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list):
        return jsonify(error="bad request"), 400
    redis_client().hset(f"bench:{{r:0}}:ans:{attempt_id}", str(position), ",".join(str(c) for c in choices))
    return jsonify(saved=True)


app = create_app()
app.register_blueprint(bp)
