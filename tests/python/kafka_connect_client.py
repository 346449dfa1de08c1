"""Drive a Kafka Connect REST API with kafka-connect-py, and print what it answers.

    python kafka_connect_client.py URL NAME TOPIC FILE RECORDS

Through the client's own calls it creates a `FileStreamSink` connector NAME
reading TOPIC into FILE, waits until FILE has RECORDS lines (printed as
JSON), reads its status, pauses, resumes and restarts it,
lists its tasks and topics, validates its config, deletes it and asks for it
once more. Each step prints one JSON line, `{"step": ..., "value": ...}`,
with what the client returned (a state, after waiting for it, for pause and
resume); a client error prints its status and body. The script waits at most
20 s for any state and exits non-zero on the first thing it did not expect.
"""

import json
import sys
import time

from kafka_connect import KafkaConnect
from requests.exceptions import HTTPError

STATE_TIMEOUT_S = 20


def emit(step, value):
    print(json.dumps({"step": step, "value": value}), flush=True)


def wait_for_state(client, name, state):
    """The status once the connector and its tasks are all in `state`."""
    deadline = time.monotonic() + STATE_TIMEOUT_S
    while True:
        status = client.get_connector_status(name)
        states = [status["connector"]["state"]] + [t["state"] for t in status["tasks"]]
        if status["tasks"] and all(s == state for s in states):
            return status
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} did not reach {state} in {STATE_TIMEOUT_S} s: {status}")
        time.sleep(0.1)


def wait_for_lines(path, count):
    """The first `count` lines of the file at `path`, parsed, once it has them."""
    deadline = time.monotonic() + STATE_TIMEOUT_S
    while True:
        try:
            with open(path, encoding="utf-8") as file:
                lines = [line for line in file.read().splitlines(keepends=True) if line.endswith("\n")]
        except FileNotFoundError:
            lines = []
        if len(lines) >= count:
            return [json.loads(line) for line in lines[:count]]
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} has {len(lines)} of {count} lines after {STATE_TIMEOUT_S} s")
        time.sleep(0.1)


def main():
    url, name, topic, path, records = sys.argv[1:6]
    client = KafkaConnect(url=url)
    config = {
        "connector.class": "FileStreamSink",
        "tasks.max": "1",
        "topics": topic,
        "file": path,
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
    }

    emit("cluster", client.get_cluster_info())
    emit("create", client.create_connector({"name": name, "config": config}))
    emit("running", wait_for_state(client, name, "RUNNING"))
    emit("records", wait_for_lines(path, int(records)))
    emit("list", client.list_connectors())
    emit("running_only", client.list_connectors(state="running"))
    emit("config", client.get_connector_config(name))

    client.pause_connector(name)
    emit("paused", wait_for_state(client, name, "PAUSED"))
    emit("paused_only", client.list_connectors(expand="status", state="paused"))
    client.resume_connector(name)
    emit("resumed", wait_for_state(client, name, "RUNNING"))

    emit("restart", client.restart_connector(name))
    emit("restart_tasks", client.restart_connector(name, include_tasks=True))
    emit("restarted", wait_for_state(client, name, "RUNNING"))
    emit("restart_task", client.restart_connector_task(name, 0))
    emit("task_status", client.get_connector_task_status(name, 0))
    emit("tasks", client.list_connector_tasks(name))
    emit("topics", client.list_connector_topics(name))
    emit("reset_topics", client.reset_connector_topics(name))
    emit("plugins", [p["class"] for p in client.list_connector_plugins()])
    full = dict(config, name=name, **{"connector.class": "FileStreamSinkConnector"})
    checked = client.validate_connector_config("FileStreamSinkConnector", full)
    emit("validate", {"name": checked["name"], "error_count": checked["error_count"]})
    emit("update", client.update_connector(name, dict(config, **{"tasks.max": "1"})))

    emit("delete", client.delete_connector(name))
    emit("after_delete", client.list_connectors())
    try:
        client.get_connector(name)
        raise SystemExit(f"{name} is still there after its delete")
    except HTTPError as error:
        emit("missing", {"status": error.response.status_code, "body": error.response.json()})


if __name__ == "__main__":
    main()
