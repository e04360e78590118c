"""Authentication, authorization and isolation over real HTTP (ERR-1 to ERR-12, ISO-1 to ISO-5)."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from conftest import RunningServer

PROBLEM = "application/problem+json"


def stream_path(run_id: str) -> str:
    return f"/classes/billing/runs/{run_id}/send-progress/stream"


def fallback_path(run_id: str) -> str:
    return f"/classes/billing/runs/{run_id}/send-progress"


@pytest.fixture(scope="module")
def workspace(server: RunningServer) -> tuple[str, str, str]:
    workspace_id, token = server.new_workspace()
    run_id = server.new_run(workspace_id, 2, sent=True)
    with server.control() as control:
        control.post(f"/billing-runs/{run_id}/complete").raise_for_status()
    return workspace_id, token, run_id


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    return body


@pytest.mark.parametrize("path_of", [stream_path, fallback_path])
def test_missing_authorization_is_401_with_bearer_challenge(
    server: RunningServer, workspace: tuple[str, str, str], path_of: object
) -> None:
    """ERR-3."""
    workspace_id, _, run_id = workspace
    with server.client(workspace=workspace_id) as client:
        response = client.get(path_of(run_id))  # type: ignore[operator]
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer  two-spaces", "token"])
def test_malformed_authorization_is_401(
    server: RunningServer, workspace: tuple[str, str, str], header: str
) -> None:
    """ERR-4."""
    workspace_id, _, run_id = workspace
    with server.client(workspace=workspace_id) as client:
        response = client.get(stream_path(run_id), headers={"Authorization": header})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_unknown_token_is_401_invalid_token_and_never_echoed(
    server: RunningServer, workspace: tuple[str, str, str]
) -> None:
    """ERR-5, ERR-2."""
    workspace_id, _, run_id = workspace
    with server.client("not-a-real-token", workspace_id) as client:
        response = client.get(stream_path(run_id))
    assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "not-a-real-token" not in response.text


@pytest.mark.parametrize("workspace_header", [None, "", "-starts-with-dash", "x" * 65, "a b"])
def test_missing_or_malformed_workspace_header_is_400(
    server: RunningServer, workspace: tuple[str, str, str], workspace_header: str | None
) -> None:
    """ERR-6: after authentication, before membership."""
    _, token, run_id = workspace
    with server.client(token) as client:
        headers = {} if workspace_header is None else {"X-Workspace-Id": workspace_header}
        response = client.get(stream_path(run_id), headers=headers)
    assert_problem(response, 400)


def test_bad_token_wins_over_bad_workspace_header(
    server: RunningServer, workspace: tuple[str, str, str]
) -> None:
    """spec/08: credentials are checked first."""
    _, _, run_id = workspace
    with server.client("unknown") as client:
        assert client.get(stream_path(run_id)).status_code == 401


def test_non_member_outsider_and_nonexistent_workspace_are_403(
    server: RunningServer, workspace: tuple[str, str, str]
) -> None:
    """ERR-7, ISO-1."""
    workspace_id, _, run_id = workspace
    other_workspace, other_token = server.new_workspace()
    with server.control() as control:
        outsider = control.post("/outsiders", json={}).raise_for_status().json()["token"]
    for token, named in (
        (other_token, workspace_id),
        (outsider, workspace_id),
        (other_token, "ws_does_not_exist"),
    ):
        with server.client(token, named) as client:
            assert_problem(client.get(stream_path(run_id)), 403)
            assert_problem(client.get(fallback_path(run_id)), 403)
    assert other_workspace != workspace_id


def test_removed_membership_takes_effect_on_the_next_request(
    server: RunningServer, workspace: tuple[str, str, str]
) -> None:
    """ISO-2: membership is read on every request, not cached with the token."""
    workspace_id, token = server.new_workspace()
    run_id = server.new_run(workspace_id, 1)
    with server.client(token, workspace_id) as client:
        assert client.get(fallback_path(run_id)).status_code == 200
        with sqlite3.connect(server.db_path) as db:
            db.execute("DELETE FROM memberships WHERE workspace_id = ?", (workspace_id,))
        assert_problem(client.get(fallback_path(run_id)), 403)


@pytest.mark.parametrize("path_of", [stream_path, fallback_path])
def test_nonexistent_foreign_and_malformed_runs_are_indistinguishable_404s(
    server: RunningServer, workspace: tuple[str, str, str], path_of: object
) -> None:
    """ERR-9, ERR-11, ERR-12, ISO-3, ISO-5."""
    _, _, foreign_run = workspace
    own_workspace, own_token = server.new_workspace()
    answers = []
    with server.client(own_token, own_workspace) as client:
        for run_id in (foreign_run, "run_doesnotexist", "%20bad%20id", "x" * 80):
            response = client.get(path_of(run_id))  # type: ignore[operator]
            answers.append(response)
            assert_problem(response, 404)
    shapes = {
        (
            r.status_code,
            r.headers["content-type"],
            frozenset(h for h in r.headers if h != "date"),
            r.text,
        )
        for r in answers
    }
    assert len(shapes) == 1
    assert foreign_run not in answers[0].text


def test_member_gets_the_fallback_payload(
    server: RunningServer, workspace: tuple[str, str, str]
) -> None:
    """BIL-4."""
    workspace_id, token, run_id = workspace
    with server.client(token, workspace_id) as client:
        response = client.get(fallback_path(run_id))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["billingRunId"] == run_id
    assert body["isComplete"] is True
    assert body["progress"]["deliveredCount"] == 2
