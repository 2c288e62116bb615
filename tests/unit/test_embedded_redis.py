"""The embedded Redis: one real server per instance folder, persistent, stopped by its owner."""

from pathlib import Path

from quiz_engine import redis_connection
from quiz_engine.embedded_redis import EmbeddedRedis


def _pids() -> set[int]:
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"redis-server" in (proc / "cmdline").read_bytes():
                    found.add(int(proc.name))
            except OSError:
                continue
    return found


def test_second_process_reuses_the_running_server_and_data_survives_restart(tmp_path: Path) -> None:
    before = _pids()
    first = EmbeddedRedis(tmp_path)
    url = first.ensure_running()
    started = _pids() - before
    assert len(started) == 1

    second = EmbeddedRedis(tmp_path)  # another worker process would do the same
    assert second.ensure_running() == url
    assert _pids() - before == started  # no second server
    client = redis_connection.connect(url)  # as the app connects to it
    client.set("k", "v")
    redis_connection.close(client)

    second.stop()  # not the owner: nothing happens
    assert first.is_running()
    first.stop()
    assert not first.is_running()
    assert _pids() - before == set()
    assert (tmp_path / "redis" / "appendonly.aof").stat().st_size > 0

    third = EmbeddedRedis(tmp_path)
    client = redis_connection.connect(third.ensure_running())
    assert client.get("k") == "v"  # append-only persistence
    redis_connection.close(client)
    third.stop()


def test_adopting_a_server_makes_the_adopter_stop_it(tmp_path: Path) -> None:
    starter = EmbeddedRedis(tmp_path)
    starter.ensure_running()
    master = EmbeddedRedis(tmp_path)
    master.ensure_running(adopt=True)
    master.stop()
    assert not starter.is_running()
    starter.stop()  # already gone: stopping again is harmless
