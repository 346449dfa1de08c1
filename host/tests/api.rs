//! The REST API in-process: the router is called with
//! `tower::ServiceExt::oneshot`, no socket. Connectors use a `datagen`
//! source and a file sink, or a Kafka source aimed at a closed port (its
//! tasks wait for a broker that never answers), so no broker is needed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sabot::api::{ApiOptions, AppState, dialect::Defaults, router};
use sabot::plan::PlanOptions;
use sabot::worker::Worker;
use serde_json::{Value, json};
use tower::ServiceExt;

/// A test server: its state and a temporary folder for files and state.
struct Server {
    state: AppState,
    dir: tempfile::TempDir,
}

impl Server {
    fn new() -> Server {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let state = state_in(dir.path(), None);
        Server { state, dir }
    }

    fn with_token(token: &str) -> Server {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let state = state_in(dir.path(), Some(token.to_owned()));
        Server { state, dir }
    }

    fn app(&self) -> Router {
        router(self.state.clone())
    }

    fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let body = body.map(|b| b.to_string());
        self.raw(method, uri, body.as_deref(), &[]).await
    }

    async fn raw(
        &self,
        method: &str,
        uri: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let (status, _, text) = self.request(method, uri, body, headers).await;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    async fn request(
        &self,
        method: &str,
        uri: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut request = Request::builder().method(method).uri(uri);
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let request = request
            .body(Body::from(body.unwrap_or("").to_owned()))
            .expect("a request");
        let response = self.app().oneshot(request).await.expect("an answer");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// Create a datagen → file connector at `rate` records per second.
    async fn create_datagen(&self, name: &str, rate: u64) -> (StatusCode, Value) {
        let config = datagen_config(&self.out(&format!("{name}.jsonl")), rate);
        self.call(
            "POST",
            "/connectors",
            Some(json!({ "name": name, "config": config })),
        )
        .await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.worker().shutdown();
    }
}

fn state_in(dir: &Path, auth_token: Option<String>) -> AppState {
    let worker = Worker::new(PlanOptions {
        check_brokers: false,
        connect_timeout: Duration::from_secs(1),
        embedded: None,
        embedded_registry: None,
    })
    .expect("a worker")
    .with_id("127.0.0.1:8083".to_owned());
    AppState::new(
        worker,
        ApiOptions {
            defaults: Defaults::default(),
            base_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            state_dir: Some(dir.join("state")),
            auth_token,
        },
    )
    .expect("the API state")
}

fn datagen_config(file: &Path, rate: u64) -> Value {
    json!({
        "apiVersion": "sabot/v1",
        "source": { "datagen": { "rate": rate, "seed": 7 } },
        "sink": { "file": { "path": file.display().to_string(), "sync": false } },
        "batch": { "max_records": 10, "max_wait": "20ms" },
    })
}

/// A flat file-sink config reading a topic from a closed port.
fn flat_config() -> Value {
    json!({
        "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
        "topics": "orders,refunds",
        "file": "/dev/null",
        "sabot.brokers": "127.0.0.1:9",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "consumer.override.sasl.password": "hunter2",
        "consumer.override.client.id": "${env:HOME}",
    })
}

/// Poll `f` for up to 10 s until it gives `Some`.
async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn error(code: u16, message: &str) -> Value {
    json!({ "error_code": code, "message": message })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_gives_the_version() {
    let server = Server::new();
    let (status, body) = server.call("GET", "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["version"], json!(env!("CARGO_PKG_VERSION")));
    assert!(body.get("commit").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_and_describe_a_connector() {
    let server = Server::new();
    let file = server.out("orders.jsonl");
    let (_, headers, text) = server
        .request(
            "POST",
            "/connectors",
            Some(&json!({ "name": "orders", "config": datagen_config(&file, 200) }).to_string()),
            &[],
        )
        .await;
    assert_eq!(headers[header::LOCATION], "/connectors/orders");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["name"], json!("orders"));
    assert_eq!(body["type"], json!("source"));
    assert_eq!(body["tasks"], json!([{ "connector": "orders", "task": 0 }]));
    // Shown as Kafka Connect shows a config: with the connector's name.
    let mut shown = datagen_config(&file, 200);
    shown["name"] = json!("orders");
    assert_eq!(body["config"], shown);

    assert_eq!(
        server.call("GET", "/connectors", None).await,
        (StatusCode::OK, json!(["orders"]))
    );
    let (status, info) = server.call("GET", "/connectors/orders", None).await;
    assert_eq!((status, info), (StatusCode::OK, body.clone()));
    let (status, config) = server.call("GET", "/connectors/orders/config", None).await;
    assert_eq!((status, config), (StatusCode::OK, shown.clone()));

    let (status, st) = server.call("GET", "/connectors/orders/status", None).await;
    assert_eq!(status, StatusCode::OK);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        st,
        json!({
            "name": "orders",
            "connector": { "state": "RUNNING", "worker_id": "127.0.0.1:8083", "version": version },
            "tasks": [{ "id": 0, "state": "RUNNING", "worker_id": "127.0.0.1:8083", "version": version }],
            "type": "source",
        })
    );
    let (status, task) = server
        .call("GET", "/connectors/orders/tasks/0/status", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        task,
        json!({ "id": 0, "state": "RUNNING", "worker_id": "127.0.0.1:8083", "version": version })
    );
    let (status, tasks) = server.call("GET", "/connectors/orders/tasks", None).await;
    assert_eq!(status, StatusCode::OK);
    let mut task_config = shown.clone();
    task_config["task.class"] = json!("sabot.DatagenSourceTask");
    assert_eq!(
        tasks,
        json!([{ "id": { "connector": "orders", "task": 0 }, "config": task_config }])
    );

    let (status, expanded) = server
        .call("GET", "/connectors?expand=status&expand=info", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(expanded["orders"]["status"], st);
    assert_eq!(expanded["orders"]["info"], body);

    // Records reach the file.
    eventually("records in the file", async || {
        let text = std::fs::read_to_string(&file).ok()?;
        (text.lines().count() >= 10).then_some(())
    })
    .await;

    let again = server.create_datagen("orders", 200).await;
    assert_eq!(
        again,
        (
            StatusCode::CONFLICT,
            error(409, "Connector orders already exists")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_connectors_answer_404_everywhere() {
    let server = Server::new();
    let missing = error(404, "Connector ghost not found");
    for (method, uri) in [
        ("GET", "/connectors/ghost"),
        ("GET", "/connectors/ghost/config"),
        ("GET", "/connectors/ghost/status"),
        ("GET", "/connectors/ghost/tasks"),
        ("GET", "/connectors/ghost/tasks/0/status"),
        ("GET", "/connectors/ghost/topics"),
        ("PUT", "/connectors/ghost/topics/reset"),
        ("POST", "/connectors/ghost/restart"),
        ("POST", "/connectors/ghost/tasks/0/restart"),
        ("PUT", "/connectors/ghost/pause"),
        ("PUT", "/connectors/ghost/resume"),
        ("PUT", "/connectors/ghost/stop"),
        ("DELETE", "/connectors/ghost"),
    ] {
        assert_eq!(
            server.call(method, uri, None).await,
            (StatusCode::NOT_FOUND, missing.clone()),
            "{method} {uri}"
        );
    }
    let patch = server
        .call(
            "PATCH",
            "/connectors/ghost/config",
            Some(json!({ "topics": "x" })),
        )
        .await;
    assert_eq!(patch, (StatusCode::NOT_FOUND, missing));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_connect_configs_are_accepted_and_secrets_hidden() {
    let server = Server::new();
    let (status, body) = server
        .call(
            "POST",
            "/connectors",
            Some(json!({ "name": "files", "config": flat_config() })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["type"], json!("sink"));
    let (_, config) = server.call("GET", "/connectors/files/config", None).await;
    assert_eq!(config["consumer.override.sasl.password"], json!("[hidden]"));
    assert_eq!(config["consumer.override.client.id"], json!("[hidden]"));
    assert_eq!(config["topics"], json!("orders,refunds"));
    let (status, topics) = server.call("GET", "/connectors/files/topics", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        topics,
        json!({ "files": { "topics": ["orders", "refunds"] } })
    );
    // Kafka Connect's reset answers 202 with no body.
    assert_eq!(
        server
            .call("PUT", "/connectors/files/topics/reset", None)
            .await,
        (StatusCode::ACCEPTED, Value::Null)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_connector_class_lists_the_known_ones() {
    let server = Server::new();
    let (status, body) = server
        .call(
            "POST",
            "/connectors",
            Some(json!({ "name": "x", "config": { "connector.class": "com.example.Nope" } })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        error(
            400,
            "Connector configuration is invalid and contains the following 1 error(s):\n\
             connector.class: `com.example.Nope` is not a connector Sabot knows; use one of `kafka-sink`, \
             `file-sink`, `stdout-sink`, `org.apache.kafka.connect.file.FileStreamSinkConnector`, `datagen`, \
             `io.confluent.kafka.connect.datagen.DatagenConnector`"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_values_list_every_problem() {
    let server = Server::new();
    let mut config = flat_config();
    config["tasks.max"] = json!("many");
    config["errors.tolerance"] = json!("some");
    config["topcs"] = json!("x");
    let (status, body) = server
        .call(
            "POST",
            "/connectors",
            Some(json!({ "name": "bad", "config": config })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        json!(
            "Connector configuration is invalid and contains the following 3 error(s):\n\
             tasks.max: `many` is not a positive integer; use e.g. `1`\n\
             errors.tolerance: `some` is not allowed; use `none` (stop at the first bad record) or `all` (dead-letter them)\n\
             topcs: unknown key; did you mean `topics`?"
        )
    );

    // A problem found by the pipeline's own checks names the flat key.
    let mut config = flat_config();
    config["sabot.batch.max.wait"] = json!("soon");
    let (status, body) = server
        .call(
            "POST",
            "/connectors",
            Some(json!({ "name": "bad", "config": config })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["message"].as_str().expect("a message");
    assert!(message.contains("\nsabot.batch.max.wait: "), "{message}");
    assert_eq!(server.call("GET", "/connectors", None).await.1, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_config_creates_then_updates_and_checks_the_name() {
    let server = Server::new();
    let file = server.out("p.jsonl");
    let (status, body) = server
        .call(
            "PUT",
            "/connectors/p/config",
            Some(datagen_config(&file, 50)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["name"], json!("p"));
    let (status, body) = server
        .call(
            "PUT",
            "/connectors/p/config",
            Some(datagen_config(&file, 60)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["config"]["source"]["datagen"]["rate"], json!(60));

    let mut other = datagen_config(&file, 60);
    other["name"] = json!("q");
    let (status, body) = server
        .call("PUT", "/connectors/p/config", Some(other))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        json!(
            "Connector configuration is invalid and contains the following 1 error(s):\n\
             name: is \"q\" but the connector is `p`; make them the same or leave `name` out"
        )
    );
    let mut flat = flat_config();
    flat["name"] = json!("q");
    let (status, _) = server.call("PUT", "/connectors/p/config", Some(flat)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_merges_and_null_removes() {
    let server = Server::new();
    server
        .call(
            "POST",
            "/connectors",
            Some(json!({ "name": "f", "config": flat_config() })),
        )
        .await;
    let (status, body) = server
        .call(
            "PATCH",
            "/connectors/f/config",
            Some(json!({ "topics": "payments", "consumer.override.client.id": null })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["config"]["topics"], json!("payments"));
    assert!(body["config"].get("consumer.override.client.id").is_none());
    let (_, topics) = server.call("GET", "/connectors/f/topics", None).await;
    assert_eq!(topics, json!({ "f": { "topics": ["payments"] } }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_stop_and_delete() {
    let server = Server::new();
    server.create_datagen("life", 100).await;
    let state = async |s: &Server| {
        let (_, st) = s.call("GET", "/connectors/life/status", None).await;
        let tasks: Vec<Value> = st["tasks"].as_array().cloned().unwrap_or_default();
        (
            st["connector"]["state"].clone(),
            tasks.iter().map(|t| t["state"].clone()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        server.call("PUT", "/connectors/life/pause", None).await,
        (StatusCode::ACCEPTED, Value::Null)
    );
    assert_eq!(
        state(&server).await,
        (json!("PAUSED"), vec![json!("PAUSED")])
    );
    assert_eq!(
        server.call("PUT", "/connectors/life/resume", None).await,
        (StatusCode::ACCEPTED, Value::Null)
    );
    assert_eq!(
        state(&server).await,
        (json!("RUNNING"), vec![json!("RUNNING")])
    );
    assert_eq!(
        server.call("PUT", "/connectors/life/stop", None).await,
        (StatusCode::NO_CONTENT, Value::Null)
    );
    assert_eq!(state(&server).await, (json!("STOPPED"), vec![]));
    assert_eq!(
        server.call("PUT", "/connectors/life/resume", None).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        state(&server).await,
        (json!("RUNNING"), vec![json!("RUNNING")])
    );
    assert_eq!(
        server.call("DELETE", "/connectors/life", None).await,
        (StatusCode::NO_CONTENT, Value::Null)
    );
    assert_eq!(
        server.call("GET", "/connectors/life", None).await,
        (
            StatusCode::NOT_FOUND,
            error(404, "Connector life not found")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts() {
    let server = Server::new();
    server.create_datagen("r", 100).await;
    assert_eq!(
        server.call("POST", "/connectors/r/restart", None).await,
        (StatusCode::NO_CONTENT, Value::Null)
    );
    let (status, body) = server
        .call("POST", "/connectors/r/restart?includeTasks=true", None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["name"], json!("r"));
    assert_eq!(body["tasks"][0]["id"], json!(0));
    let (status, _) = server
        .call(
            "POST",
            "/connectors/r/restart?includeTasks=true&onlyFailed=true",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) = server
        .call("POST", "/connectors/r/restart?includeTasks=maybe", None)
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            error(400, "`includeTasks` must be `true` or `false`, not `maybe`")
        )
    );
    assert_eq!(
        server
            .call("POST", "/connectors/r/tasks/0/restart", None)
            .await,
        (StatusCode::NO_CONTENT, Value::Null)
    );
    for task in ["7", "x", "-1"] {
        let (status, body) = server
            .call("POST", &format!("/connectors/r/tasks/{task}/restart"), None)
            .await;
        assert_eq!(
            (status, body),
            (
                StatusCode::NOT_FOUND,
                error(404, &format!("Task r-{task} not found"))
            )
        );
        let (status, body) = server
            .call("GET", &format!("/connectors/r/tasks/{task}/status"), None)
            .await;
        assert_eq!(
            (status, body),
            (
                StatusCode::NOT_FOUND,
                error(404, &format!("Task r-{task} not found"))
            )
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_are_listed_with_transforms() {
    let server = Server::new();
    let (status, body) = server
        .call("GET", "/connector-plugins?connectorsOnly=false", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let list = body.as_array().expect("a list");
    assert!(list.contains(
        &json!({ "class": "file-sink", "type": "sink", "version": env!("CARGO_PKG_VERSION") })
    ));
    assert!(list.contains(
        &json!({ "class": "datagen", "type": "source", "version": env!("CARGO_PKG_VERSION") })
    ));
    let transforms: Vec<&str> = list
        .iter()
        .filter(|p| p["type"] == "transformation")
        .filter_map(|p| p["class"].as_str())
        .collect();
    assert!(transforms.contains(&"filter"), "{transforms:?}");
    assert!(transforms.contains(&"mask"), "{transforms:?}");
    // Connectors only by default, as in Kafka Connect.
    let (_, only) = server
        .call("GET", "/connector-plugins?connectorsOnly=true", None)
        .await;
    assert_eq!(only.as_array().map(Vec::len), Some(6));
    let (_, default) = server.call("GET", "/connector-plugins", None).await;
    assert_eq!(default, only);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_config_keys_are_described() {
    let server = Server::new();
    // A WASM transform: the keys its `describe` gives, typed.
    let (status, keys) = server
        .call("GET", "/connector-plugins/filter/config", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    let names: Vec<&str> = keys
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|k| k["name"].as_str())
        .collect();
    assert_eq!(names, ["field", "op", "value", "otherwise"]);
    assert_eq!(keys[0]["type"], json!("STRING"));
    assert_eq!(keys[0]["required"], json!(true));
    assert_eq!(keys[0]["importance"], json!("HIGH"));
    assert_eq!(keys[0]["group"], json!("filter"));
    assert_eq!(keys[3]["default_value"], json!("\"drop\""));
    assert!(
        keys[0]["documentation"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{keys}"
    );
    // The same keys in the plugin list.
    let (_, list) = server
        .call("GET", "/connector-plugins?connectorsOnly=false", None)
        .await;
    let filter = list
        .as_array()
        .and_then(|l| l.iter().find(|p| p["class"] == "filter"))
        .cloned()
        .expect("filter is listed");
    assert_eq!(filter["config"], keys);

    // A connector class: the keys of the flat dialect.
    let (status, keys) = server
        .call("GET", "/connector-plugins/file-sink/config", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let topics = keys
        .as_array()
        .and_then(|k| k.iter().find(|k| k["name"] == "topics"))
        .cloned()
        .expect("`topics` is described");
    assert_eq!(topics["type"], json!("STRING"));
    assert_eq!(topics["dependents"], json!([]));

    let (status, body) = server
        .call("GET", "/connector-plugins/no-such-thing/config", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], json!(404));
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Unknown plugin no-such-thing: ")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagen_keys_are_its_own_and_dot_names_are_refused() {
    let server = Server::new();
    let (status, keys) = server
        .call("GET", "/connector-plugins/datagen/config", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = keys
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|k| k["name"].as_str())
        .collect();
    for key in [
        "kafka.topic",
        "iterations",
        "max.interval",
        "sabot.datagen.rate",
    ] {
        assert!(names.contains(&key), "{key} in {names:?}");
    }
    for key in ["topics", "file", "value.converter"] {
        assert!(!names.contains(&key), "{key} in {names:?}");
    }
    // A key of another class is said to be one, not "did you mean" itself.
    let (status, body) = server
        .call(
            "POST",
            "/connectors",
            Some(json!({ "name": "gen", "config": {
                "connector.class": "datagen", "kafka.topic": "t",
                "sabot.brokers": "127.0.0.1:9", "file": "/tmp/x" } })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("file: does not apply to this `connector.class`"),
        "{message}"
    );
    for name in [".", ".."] {
        let config = datagen_config(&server.out("dots.jsonl"), 100);
        let (status, body) = server
            .call(
                "POST",
                "/connectors",
                Some(json!({ "name": name, "config": config })),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("use at least one letter, digit, `_` or `-`")),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_states_show_in_the_status() {
    let server = Server::new();
    for (name, initial, connector, tasks) in [
        ("starts-paused", "PAUSED", "PAUSED", json!(["PAUSED"])),
        ("starts-stopped", "STOPPED", "STOPPED", json!([])),
    ] {
        let config = datagen_config(&server.out(&format!("{name}.jsonl")), 100);
        let (status, body) = server
            .call(
                "POST",
                "/connectors",
                Some(json!({ "name": name, "config": config, "initial_state": initial })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let states = eventually(name, async || {
            let (_, st) = server
                .call("GET", &format!("/connectors/{name}/status"), None)
                .await;
            let tasks_now: Vec<Value> = st["tasks"]
                .as_array()?
                .iter()
                .map(|t| t["state"].clone())
                .collect();
            (st["connector"]["state"] == json!(connector) && json!(tasks_now) == tasks)
                .then_some(())
        })
        .await;
        let () = states;
    }
    assert!(
        !server.out("starts-paused.jsonl").exists()
            || std::fs::read_to_string(server.out("starts-paused.jsonl"))
                .unwrap_or_default()
                .is_empty(),
        "a connector created paused wrote records"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_failed_tasks_restart_when_asked() {
    let server = Server::new();
    // Two connectors: one whose task fails (its file cannot be created
    // under a regular file), one healthy.
    let blocker = server.out("a-file");
    std::fs::write(&blocker, "x").expect("write");
    let failing = datagen_config(&blocker.join("out.jsonl"), 100);
    let (status, _) = server
        .call(
            "POST",
            "/connectors",
            Some(json!({ "name": "failing", "config": failing })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let records_in = |metrics: &Value| -> u64 {
        metrics
            .as_str()
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("sabot_records_in_total{connector=\"healthy\",task=\"0\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    server.create_datagen("healthy", 100).await;
    eventually("records from the healthy connector", async || {
        let (_, metrics) = server.call("GET", "/metrics", None).await;
        (records_in(&metrics) > 0).then_some(())
    })
    .await;
    eventually("the task to fail", async || {
        let (_, st) = server.call("GET", "/connectors/failing/status", None).await;
        (st["tasks"][0]["state"] == json!("FAILED")).then_some(())
    })
    .await;

    // onlyFailed on the healthy one restarts nothing: its task keeps its
    // counters. On the failing one, the failed task is restarted (and
    // fails again, with its trace).
    let before = server.call("GET", "/metrics", None).await;
    let (status, body) = server
        .call(
            "POST",
            "/connectors/healthy/restart?includeTasks=true&onlyFailed=true",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["tasks"][0]["state"], json!("RUNNING"));
    let first = records_in(&before.1);
    assert!(first > 0, "the healthy connector moves records");
    // A restarted task would count again from 0.
    let (_, now) = server.call("GET", "/metrics", None).await;
    assert!(
        records_in(&now) >= first,
        "the healthy task was restarted: {} after {first}",
        records_in(&now)
    );
    let (status, body) = server
        .call(
            "POST",
            "/connectors/failing/restart?includeTasks=true&onlyFailed=true",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let trace = eventually("the task to fail again", async || {
        let (_, st) = server.call("GET", "/connectors/failing/status", None).await;
        (st["tasks"][0]["state"] == json!("FAILED"))
            .then(|| st["tasks"][0]["trace"].as_str().map(str::to_owned))
            .flatten()
    })
    .await;
    assert!(trace.contains("cannot create its directory"), "{trace}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_gives_config_infos() {
    let server = Server::new();
    let mut config = flat_config();
    config.as_object_mut().map(|c| c.remove("connector.class"));
    let uri =
        "/connector-plugins/org.apache.kafka.connect.file.FileStreamSinkConnector/config/validate";
    let (status, body) = server.call("PUT", uri, Some(config.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["name"],
        json!("org.apache.kafka.connect.file.FileStreamSinkConnector")
    );
    assert_eq!(body["error_count"], json!(0));
    let topics = body["configs"]
        .as_array()
        .and_then(|c| c.iter().find(|e| e["definition"]["name"] == "topics"))
        .cloned()
        .expect("`topics` is described");
    assert_eq!(
        topics["value"],
        json!({ "name": "topics", "value": "orders,refunds", "recommended_values": [], "errors": [], "visible": true })
    );
    let password = body["configs"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|e| e["definition"]["name"] == "consumer.override.sasl.password")
        })
        .cloned()
        .expect("the password is described");
    assert_eq!(password["value"]["value"], json!("[hidden]"));

    config["errors.tolerance"] = json!("some");
    config["transforms"] = json!("f");
    config["transforms.f.type"] = json!("no-such-plugin");
    let (status, body) = server.call("PUT", uri, Some(config)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error_count"], json!(1));
    let tolerance = body["configs"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|e| e["definition"]["name"] == "errors.tolerance")
        })
        .cloned()
        .expect("described");
    assert_eq!(
        tolerance["value"]["errors"],
        json!([
            "`some` is not allowed; use `none` (stop at the first bad record) or `all` (dead-letter them)"
        ])
    );

    let (status, body) = server
        .call(
            "PUT",
            "/connector-plugins/file-sink/config/validate",
            Some(json!({ "connector.class": "kafka-sink" })),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            error(
                400,
                "Included connector type kafka-sink does not match request type file-sink"
            )
        )
    );
    let (status, _) = server
        .call(
            "PUT",
            "/connector-plugins/com.example.Nope/config/validate",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_problem_found_by_validate_names_the_transform_key() {
    let server = Server::new();
    let mut config = flat_config();
    config["transforms"] = json!("f");
    config["transforms.f.type"] = json!("no-such-plugin");
    let (status, body) = server
        .call(
            "PUT",
            "/connector-plugins/file-sink/config/validate",
            Some({
                config["connector.class"] = json!("file-sink");
                config
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error_count"], json!(1));
    let entry = body["configs"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|e| e["definition"]["name"] == "transforms.f.type")
        })
        .cloned()
        .expect("described");
    let errors = entry["value"]["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .as_str()
            .is_some_and(|e| e.starts_with("no plugin named `no-such-plugin` in ")),
        "{errors:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_take_yaml() {
    let server = Server::new();
    let file = server.out("y.jsonl");
    let yaml = format!(
        "apiVersion: sabot/v1\nname: from-yaml\nsource:\n  datagen: {{ rate: 50 }}\nsink:\n  file: {{ path: '{}' }}\n",
        file.display()
    );
    let (status, body) = server.raw("POST", "/pipelines", Some(&yaml), &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["name"], json!("from-yaml"));
    assert_eq!(
        body["config"]["source"],
        json!({ "datagen": { "rate": 50 } })
    );
    let (status, body) = server.raw("POST", "/pipelines", Some(&yaml), &[]).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            error(409, "Connector from-yaml already exists")
        )
    );
    let (status, body) = server
        .raw("POST", "/pipelines", Some("name: [unclosed"), &[])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("\ninvalid YAML (line ")),
        "{body}"
    );
    let (status, body) = server
        .raw(
            "POST",
            "/pipelines",
            Some("apiVersion: sabot/v1\nname: x\nsource: {}\nsink: {stdout: {}}\nbtach: {}\n"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("btach: unknown key; did you mean `batch`?")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_answer_in_the_error_shape() {
    let server = Server::new();
    let (status, body) = server
        .raw("POST", "/connectors", Some("{not json"), &[])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("the request body is not valid JSON: "))
    );
    assert_eq!(
        server.raw("POST", "/connectors", Some("[]"), &[]).await,
        (
            StatusCode::BAD_REQUEST,
            error(
                400,
                "the request body must be a JSON object (`{\"name\": ..., \"config\": {...}}`)"
            )
        )
    );
    assert_eq!(
        server
            .call("POST", "/connectors", Some(json!({ "config": {} })))
            .await,
        (
            StatusCode::BAD_REQUEST,
            error(400, "Connector name must be specified: give `name`")
        )
    );
    assert_eq!(
        server
            .call("POST", "/connectors", Some(json!({ "name": "n" })))
            .await,
        (
            StatusCode::BAD_REQUEST,
            error(
                400,
                "Connector config is missing: give `config` as an object"
            )
        )
    );
    assert_eq!(
        server
            .call(
                "POST",
                "/connectors",
                Some(json!({ "name": "n", "config": {}, "initial_state": "ASLEEP" }))
            )
            .await,
        (
            StatusCode::BAD_REQUEST,
            error(
                400,
                "`initial_state` must be `RUNNING`, `PAUSED` or `STOPPED`, not `ASLEEP`"
            )
        )
    );
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(2 << 20));
    assert_eq!(
        server.raw("POST", "/connectors", Some(&big), &[]).await,
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            error(413, "the request body is larger than 1048576 bytes")
        )
    );
    assert_eq!(
        server.call("GET", "/nowhere", None).await,
        (StatusCode::NOT_FOUND, error(404, "HTTP 404 Not Found"))
    );
    assert_eq!(
        server.call("DELETE", "/connectors", None).await,
        (
            StatusCode::METHOD_NOT_ALLOWED,
            error(405, "HTTP 405 Method Not Allowed")
        )
    );
    assert_eq!(
        server
            .call("GET", "/connectors?expand=everything", None)
            .await,
        (
            StatusCode::BAD_REQUEST,
            error(400, "`expand` must be `status` or `info`, not `everything`")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_required_when_set() {
    let server = Server::with_token("s3cret");
    let (status, body) = server.call("GET", "/connectors", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_code"], json!(401));
    let (status, _) = server
        .raw(
            "GET",
            "/connectors",
            None,
            &[("authorization", "Bearer wrong")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = server
        .raw(
            "GET",
            "/connectors",
            None,
            &[("authorization", "Bearer s3cret")],
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!([])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_per_task() {
    let server = Server::new();
    server.create_datagen("m", 500).await;
    let text = eventually("records counted", async || {
        let (_, _, text) = server.request("GET", "/metrics", None, &[]).await;
        let line = text
            .lines()
            .find(|l| l.starts_with("sabot_records_in_total{connector=\"m\",task=\"0\"} "))?;
        let n: u64 = line.rsplit(' ').next()?.parse().ok()?;
        (n > 0).then_some(text)
    })
    .await;
    for metric in [
        "sabot_records_out_total",
        "sabot_dead_lettered_total",
        "sabot_filtered_total",
        "sabot_batches_total",
    ] {
        assert!(
            text.contains(&format!(
                "# TYPE {metric} counter\n{metric}{{connector=\"m\",task=\"0\"}} "
            )),
            "{metric}: {text}"
        );
    }
}

/// The value of the series whose line starts with `series` (its name and
/// labels), if the text has it.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

/// Scrape `/metrics` until two scrapes in a row are the same, so the
/// figures read from it belong together.
async fn settled_metrics(server: &Server) -> String {
    let mut last = String::new();
    eventually("the metrics to settle", async || {
        let (_, _, text) = server.request("GET", "/metrics", None, &[]).await;
        let settled = text == last;
        last = text.clone();
        settled.then_some(text)
    })
    .await
}

/// A datagen → file pipeline of `records` records (unbounded when `None`)
/// through the `mask` plugin, under the transform name `transform`.
fn masked_config(file: &Path, records: Option<u64>, transform: &str) -> Value {
    let mut source = json!({ "seed": 7 });
    match records {
        Some(n) => source["records"] = json!(n),
        None => source["rate"] = json!(200),
    }
    json!({
        "apiVersion": "sabot/v1",
        "source": { "datagen": source },
        "transforms": [{
            "plugin": "mask",
            "name": transform,
            "config": { "fields": ["customer.email"] },
        }],
        "sink": { "file": { "path": file.display().to_string(), "sync": false } },
        "batch": { "max_records": 10, "max_wait": "20ms" },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_batch_latency_and_time_in_each_transform() {
    let server = Server::new();
    let config = masked_config(&server.out("timed.jsonl"), Some(1200), "hide");
    let (status, body) = server
        .call(
            "POST",
            "/connectors",
            Some(json!({ "name": "timed", "config": config })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let task = "connector=\"timed\",task=\"0\"";
    eventually("every record written", async || {
        let (_, _, text) = server.request("GET", "/metrics", None, &[]).await;
        (sample(&text, &format!("sabot_records_out_total{{{task}}}")) == Some(1200.0)).then_some(())
    })
    .await;
    let text = settled_metrics(&server).await;

    let batches = sample(&text, &format!("sabot_batches_total{{{task}}}")).expect("batches");
    // The first batch is as large as the schema inference wants (1000
    // records), the rest hold at most 10.
    assert!(batches >= 21.0, "{batches} batches");

    // The histogram: one bucket per bound and `+Inf`, cumulative, ending
    // at the count, which is the number of batches.
    assert!(text.contains(
        "# HELP sabot_batch_latency_seconds Time from a batch being polled from the source \
         until it is handed to the sink.\n# TYPE sabot_batch_latency_seconds histogram\n"
    ));
    let prefix = format!("sabot_batch_latency_seconds_bucket{{{task},le=\"");
    let buckets: Vec<(String, f64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| {
            let (le, value) = rest.split_once("\"} ").expect("a bucket line");
            (le.to_owned(), value.parse().expect("a count"))
        })
        .collect();
    let bounds: Vec<&str> = buckets.iter().map(|(le, _)| le.as_str()).collect();
    assert_eq!(
        bounds,
        [
            "0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
            "+Inf"
        ]
    );
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "buckets are cumulative: {buckets:?}"
    );
    assert_eq!(buckets.last().map(|(_, n)| *n), Some(batches));
    assert_eq!(
        sample(
            &text,
            &format!("sabot_batch_latency_seconds_count{{{task}}}")
        ),
        Some(batches)
    );
    let sum = sample(&text, &format!("sabot_batch_latency_seconds_sum{{{task}}}")).expect("a sum");
    assert!(sum > 0.0, "{sum}");

    // The transform was called once per batch, and took some time.
    let hide = format!("{task},transform=\"hide\"");
    assert!(text.contains("# TYPE sabot_transform_calls_total counter\n"));
    assert!(text.contains("# TYPE sabot_transform_seconds_total counter\n"));
    assert_eq!(
        sample(&text, &format!("sabot_transform_calls_total{{{hide}}}")),
        Some(batches)
    );
    let seconds = sample(&text, &format!("sabot_transform_seconds_total{{{hide}}}"))
        .expect("time in the transform");
    assert!(seconds > 0.0, "{seconds}");

    // Generated records have no partitions to lag behind: the family is
    // there, without series.
    assert!(text.contains("# TYPE sabot_consumer_lag_records gauge\n"));
    assert!(!text.contains("sabot_consumer_lag_records{"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_in_a_transform_is_kept_by_name_across_live_swaps() {
    let server = Server::new();
    let file = server.out("swapped.jsonl");
    let (status, body) = server
        .call(
            "POST",
            "/connectors",
            Some(json!({ "name": "swapped", "config": masked_config(&file, None, "hide") })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let calls = async |transform: &str| {
        let (_, _, text) = server.request("GET", "/metrics", None, &[]).await;
        sample(
            &text,
            &format!(
                "sabot_transform_calls_total{{connector=\"swapped\",task=\"0\",transform=\"{transform}\"}}"
            ),
        )
    };
    eventually("calls of `hide`", async || {
        calls("hide").await.filter(|n| *n > 0.0)
    })
    .await;

    // Renamed: the new name counts from its first call; the old one keeps
    // its figure.
    let config = masked_config(&file, None, "mask-email");
    let (status, body) = server
        .call("PUT", "/connectors/swapped/config", Some(config))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually("calls of `mask-email`", async || {
        calls("mask-email").await.filter(|n| *n > 0.0)
    })
    .await;
    let hide_before = calls("hide").await.expect("`hide` is still shown");

    // Back under the first name: its counter goes on from where it was.
    let config = masked_config(&file, None, "hide");
    let (status, body) = server
        .call("PUT", "/connectors/swapped/config", Some(config))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually("more calls of `hide`", async || {
        calls("hide").await.filter(|n| *n > hide_before)
    })
    .await;
    let status = server
        .call("GET", "/connectors/swapped/status", None)
        .await
        .1;
    assert_eq!(status["tasks"][0]["state"], json!("RUNNING"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_route() {
    let server = Server::new();
    let (status, doc) = server.call("GET", "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], json!("3.0.3"));
    let paths: Vec<&String> = doc["paths"]
        .as_object()
        .map(|p| p.keys().collect())
        .unwrap_or_default();
    for path in [
        "/",
        "/connectors",
        "/connectors/{name}",
        "/connectors/{name}/config",
        "/connectors/{name}/status",
        "/connectors/{name}/tasks",
        "/connectors/{name}/tasks/{task}/status",
        "/connectors/{name}/tasks/{task}/restart",
        "/connectors/{name}/restart",
        "/connectors/{name}/pause",
        "/connectors/{name}/resume",
        "/connectors/{name}/stop",
        "/connectors/{name}/topics",
        "/connectors/{name}/topics/reset",
        "/connectors/{name}/offsets",
        "/connector-plugins",
        "/connector-plugins/{class}/config",
        "/connector-plugins/{class}/config/validate",
        "/pipelines",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.iter().any(|p| *p == path), "{path} is missing");
    }
    assert_eq!(paths.len(), 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_come_back_from_the_state_folder() {
    let server = Server::new();
    server.create_datagen("kept", 100).await;
    server.call("PUT", "/connectors/kept/pause", None).await;
    server
        .call(
            "POST",
            "/connectors",
            Some(json!({ "name": "gone", "config": flat_config() })),
        )
        .await;
    server.call("DELETE", "/connectors/gone", None).await;
    let config = server.call("GET", "/connectors/kept/config", None).await.1;
    server.state.worker().shutdown();

    let again = state_in(server.dir.path(), None);
    again.restore();
    let reborn = Server {
        state: again,
        dir: tempfile::tempdir().expect("a folder"),
    };
    assert_eq!(
        reborn.call("GET", "/connectors", None).await.1,
        json!(["kept"])
    );
    assert_eq!(
        reborn.call("GET", "/connectors/kept/config", None).await.1,
        config
    );
    let (_, status) = reborn.call("GET", "/connectors/kept/status", None).await;
    assert_eq!(status["connector"]["state"], json!("PAUSED"));
    assert_eq!(status["tasks"][0]["state"], json!("PAUSED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_of_a_generated_source_change_only_while_stopped_and_are_kept() {
    let server = Server::new();
    let (status, _) = server.create_datagen("gen", 2000).await;
    assert_eq!(status, StatusCode::CREATED);
    let lines = || {
        std::fs::read_to_string(server.out("gen.jsonl"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    eventually("records in the file", async || {
        (lines() >= 50).then_some(())
    })
    .await;

    // Readable while running; the position only grows.
    let (status, body) = server.call("GET", "/connectors/gen/offsets", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["offsets"][0]["partition"],
        json!({"source": "datagen"})
    );
    assert!(body["offsets"][0]["offset"]["position"].is_u64(), "{body}");

    let alter =
        json!({"offsets": [{"partition": {"source": "datagen"}, "offset": {"position": 10}}]});
    let (status, body) = server
        .call("PATCH", "/connectors/gen/offsets", Some(alter.clone()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        error(
            400,
            "connector gen must be STOPPED before its offsets change; stop it with `PUT /connectors/gen/stop` first"
        )
    );
    let (status, _) = server.call("DELETE", "/connectors/gen/offsets", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Stopped: the position is every record written, and it can move.
    assert_eq!(
        server.call("PUT", "/connectors/gen/stop", None).await.0,
        StatusCode::NO_CONTENT
    );
    let written = lines() as u64;
    let (_, body) = server.call("GET", "/connectors/gen/offsets", None).await;
    assert_eq!(
        body,
        json!({"offsets": [{"partition": {"source": "datagen"}, "offset": {"position": written}}]})
    );
    let (status, body) = server
        .call("PATCH", "/connectors/gen/offsets", Some(alter))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(
        server.call("GET", "/connectors/gen/offsets", None).await.1["offsets"][0]["offset"],
        json!({"position": 10})
    );
    let (status, body) = server
        .call(
            "PATCH",
            "/connectors/gen/offsets",
            Some(json!({"offsets": [{"partition": {"kafka_topic": "t", "kafka_partition": 0}, "offset": {"kafka_offset": 1}}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        json!(
            "connector gen generates its records: its one partition is {\"source\": \"datagen\"} and its offset {\"position\": N}"
        )
    );

    // The position is kept in the state folder with the connector.
    server.state.worker().shutdown();
    let again = state_in(server.dir.path(), None);
    again.restore();
    let reborn = Server {
        state: again,
        dir: tempfile::tempdir().expect("a folder"),
    };
    assert_eq!(
        reborn.call("GET", "/connectors/gen/offsets", None).await.1["offsets"][0]["offset"],
        json!({"position": 10})
    );
    assert_eq!(
        reborn
            .call("DELETE", "/connectors/gen/offsets", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        reborn.call("GET", "/connectors/gen/offsets", None).await.1["offsets"][0]["offset"],
        json!({"position": 0})
    );
    assert_eq!(
        reborn
            .call("GET", "/connectors/missing/offsets", None)
            .await,
        (
            StatusCode::NOT_FOUND,
            error(404, "Connector missing not found")
        )
    );
}

/// The flat dialect's mapping, key by key, as YAML tree.
fn translate(config: Value, brokers: Option<&str>) -> Result<(Value, usize), Vec<String>> {
    use sabot::api::dialect::flat_to_pipeline;
    let Value::Object(map) = config else {
        panic!("a config object")
    };
    let defaults = Defaults {
        brokers: brokers.map(str::to_owned),
    };
    flat_to_pipeline("orders-out", &map, &defaults, &|_| None)
        .map(|t| (serde_yaml::from_str(&t.yaml).expect("YAML"), t.tasks_max))
        .map_err(|problems| problems.iter().map(ToString::to_string).collect())
}

#[test]
fn the_flat_dialect_maps_every_key() {
    let (tree, tasks) = translate(
        json!({
            "connector.class": "kafka-sink",
            "tasks.max": "3",
            "topics": "orders, refunds",
            "key.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            "transforms": "big,hide",
            "transforms.big.type": "filter",
            "transforms.big.field": "amount",
            "transforms.big.value": "100",
            "transforms.hide.type": "plugins/mask.wasm",
            "transforms.hide.fields": "[\"customer.email\"]",
            "errors.tolerance": "all",
            "errors.deadletterqueue.topic.name": "orders-dlq",
            "errors.log.enable": "true",
            "consumer.override.session.timeout.ms": "6000",
            "producer.override.compression.type": "zstd",
            "sabot.sink.topic": "orders-big",
            "sabot.batch.max.records": "500",
        }),
        Some("127.0.0.1:9092"),
    )
    .expect("it translates");
    assert_eq!(tasks, 3);
    assert_eq!(
        tree,
        json!({
            "apiVersion": "sabot/v1",
            "name": "orders-out",
            "source": { "kafka": {
                "brokers": "127.0.0.1:9092",
                "topics": ["orders", "refunds"],
                "group": "connect-orders-out",
                "format": { "json": { "schema": "infer" } },
                "properties": { "session.timeout.ms": "6000" },
            } },
            "transforms": [
                { "plugin": "filter", "name": "big", "config": { "field": "amount", "value": 100 } },
                { "plugin": "plugins/mask.wasm", "name": "hide", "config": { "fields": ["customer.email"] } },
            ],
            "sink": { "kafka": { "topic": "orders-big", "properties": { "compression.type": "zstd" } } },
            "errors": { "on_bad_record": "dead-letter", "dead_letter_topic": "orders-dlq" },
            "batch": { "max_records": 500 },
        })
    );
}

#[test]
fn confluents_converters_read_schemas_from_their_registry() {
    let (tree, _) = translate(
        json!({
            "connector.class": "FileStreamSink",
            "topics": "orders-avro",
            "file": "out/orders.jsonl",
            "value.converter": "io.confluent.connect.avro.AvroConverter",
            "value.converter.schema.registry.url": "http://127.0.0.1:8081",
            "value.converter.basic.auth.credentials.source": "USER_INFO",
            "value.converter.basic.auth.user.info": "user:secret",
            "sabot.brokers": "127.0.0.1:9093",
        }),
        None,
    )
    .expect("it translates");
    assert_eq!(
        tree["source"]["kafka"]["format"],
        json!({ "avro": { "registry": { "url": "http://127.0.0.1:8081", "basic_auth": "user:secret" } } })
    );
    let (tree, _) = translate(
        json!({
            "connector.class": "FileStreamSink",
            "topics": "orders-proto",
            "file": "out/orders.jsonl",
            "value.converter": "io.confluent.connect.protobuf.ProtobufConverter",
            "value.converter.schema.registry.url": "http://127.0.0.1:8081",
            "sabot.brokers": "127.0.0.1:9093",
        }),
        None,
    )
    .expect("it translates");
    assert_eq!(
        tree["source"]["kafka"]["format"],
        json!({ "protobuf": { "registry": { "url": "http://127.0.0.1:8081" } } })
    );
    let problems = translate(
        json!({
            "connector.class": "FileStreamSink",
            "topics": "orders-avro",
            "file": "out/orders.jsonl",
            "value.converter": "io.confluent.connect.avro.AvroConverter",
            "sabot.brokers": "127.0.0.1:9093",
        }),
        None,
    )
    .expect_err("a registry is needed");
    assert_eq!(
        problems,
        [
            "value.converter.schema.registry.url: is required with Confluent's converters; give the registry's URL"
        ]
    );
}

#[test]
fn the_flat_dialect_maps_file_stream_sinks_raw_values_and_datagen() {
    let (tree, _) = translate(
        json!({
            "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "topics.regex": "^orders-.*",
            "file": "out/orders.jsonl",
            "value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
            "sabot.brokers": "127.0.0.1:9093",
            "sabot.group": "g1",
            "errors.tolerance": "none",
        }),
        None,
    )
    .expect("it translates");
    assert_eq!(
        tree,
        json!({
            "apiVersion": "sabot/v1",
            "name": "orders-out",
            "source": { "kafka": { "brokers": "127.0.0.1:9093", "topics_regex": "^orders-.*", "group": "g1", "format": "raw" } },
            "sink": { "file": { "path": "out/orders.jsonl" } },
            "errors": { "on_bad_record": "fail" },
        })
    );
    let (tree, _) = translate(
        json!({
            "connector.class": "io.confluent.kafka.connect.datagen.DatagenConnector",
            "kafka.topic": "orders",
            "iterations": "1000",
            "max.interval": "100",
        }),
        Some("127.0.0.1:9092"),
    )
    .expect("it translates");
    assert_eq!(
        tree,
        json!({
            "apiVersion": "sabot/v1",
            "name": "orders-out",
            "source": { "datagen": { "records": 1000, "rate": 10 } },
            "sink": { "kafka": { "topic": "orders", "brokers": "127.0.0.1:9092" } },
        })
    );
}

#[test]
fn the_flat_dialect_reports_every_problem_by_key() {
    let problems = translate(
        json!({
            "connector.class": "stdout-sink",
            "topics": "a",
            "topics.regex": "b",
            "value.converter": "com.example.XmlConverter",
            "value.converter.schema.registry.url": "http://127.0.0.1:8081",
            "producer.override.acks": "all",
            "transforms": "t",
            "transforms.t.type": "org.apache.kafka.connect.transforms.MaskField$Value",
            "transforms.u.type": "filter",
            "nested": { "not": "a string" },
        }),
        None,
    )
    .expect_err("it has problems");
    assert_eq!(
        problems,
        vec![
            "nested: must be a string (Kafka Connect configs are maps of strings)",
            "value.converter.schema.registry.url: applies to Confluent's Avro, Protobuf and JSON Schema converters only",
            "value.converter: `com.example.XmlConverter` is not supported; use `org.apache.kafka.connect.json.JsonConverter` (with `value.converter.schemas.enable=false`), `org.apache.kafka.connect.converters.ByteArrayConverter`, or Confluent's `io.confluent.connect.avro.AvroConverter`, `…protobuf.ProtobufConverter` or `…json.JsonSchemaConverter`",
            "sabot.brokers: no brokers: set `sabot.brokers` to the bootstrap servers, or start `sabot serve --brokers HOST:PORT`",
            "topics: set `topics` or `topics.regex`, not both",
            "transforms.t.type: `org.apache.kafka.connect.transforms.MaskField$Value` is a Java transformation; Sabot runs WASM plugins, name one such as `filter` or `mask`",
            "producer.override.acks: only a Kafka sink has a producer; remove the key",
            "transforms.u.type: unknown key; list the transform's name in `transforms` first",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelines_folder_becomes_connectors() {
    let server = Server::new();
    let dir = server.out("pipelines");
    std::fs::create_dir_all(&dir).expect("a folder");
    let out = server.out("folder.jsonl");
    let yaml = format!(
        "apiVersion: sabot/v1\nname: from-folder\nsource:\n  datagen: {{ rate: 20 }}\nsink:\n  file: {{ path: '{}' }}\n",
        out.display()
    );
    std::fs::write(dir.join("one.yaml"), yaml).expect("written");
    let state = server.state.clone();
    let loaded = tokio::task::spawn_blocking(move || state.load_pipelines(&dir))
        .await
        .expect("joined");
    assert_eq!(loaded, Ok(()));
    assert_eq!(
        server.call("GET", "/connectors", None).await.1,
        json!(["from-folder"])
    );
    let (_, config) = server
        .call("GET", "/connectors/from-folder/config", None)
        .await;
    assert_eq!(config["source"], json!({ "datagen": { "rate": 20 } }));

    let bad = server.out("bad");
    std::fs::create_dir_all(&bad).expect("a folder");
    std::fs::write(bad.join("two.yaml"), "apiVersion: sabot/v1\nname: two\n").expect("written");
    let state = server.state.clone();
    let errors = tokio::task::spawn_blocking(move || state.load_pipelines(&bad))
        .await
        .expect("joined");
    let errors = errors.expect_err("a bad file fails");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].ends_with("two.yaml` has 1 problem:\n  missing required key `source`"),
        "{errors:?}"
    );
}
