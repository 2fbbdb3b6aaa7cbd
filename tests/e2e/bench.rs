//! Smoke run of `crm bench` (what CI can afford): a tiny seeded dataset, every scenario for a
//! moment, the echo floor in-process, and the file generator. It checks that results come out
//! and nothing fails; it asserts no timing (timings belong in bench/run.sh).
use crate::harness::{ADMIN_PASSWORD, Backend, Http, Suite};
use crm::bench::{self, RunArgs, generate::Generator, scenarios::SCENARIOS};

fn args(target: String, scenarios: Vec<String>, token: &str) -> RunArgs {
    RunArgs {
        scenarios,
        target,
        ids_from: None,
        concurrency: 4,
        rate: None,
        max_in_flight: 100,
        // Long enough for one page of the debug build under a loaded test run.
        duration: "1500ms".into(),
        warmup: "50ms".into(),
        connections: 1,
        ids: 500,
        token: Some(token.to_owned()),
        cookie: None,
        json: None,
        label: None,
        seed: 7,
        quiet: true,
    }
}

/// The web UI's session cookie of the administrator, signed in through the sign-in form.
async fn web_session(suite: &Suite) -> String {
    let form = format!("login_name=admin&password={ADMIN_PASSWORD}");
    let (status, headers, _) = Http::anonymous(suite.gateway())
        .raw(
            "POST",
            "/login",
            "application/x-www-form-urlencoded",
            form.into_bytes(),
        )
        .await;
    assert_eq!(status, 303, "sign-in redirects to the first page");
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next()?.strip_prefix("crm_session="))
        .filter(|v| !v.is_empty())
        .expect("a session cookie")
        .to_owned()
}

#[tokio::test]
async fn every_scenario_runs_without_errors_on_a_seeded_suite() {
    let suite = Suite::start(Backend::Sqlite).await;
    let seeded = bench::seed::seed_db(suite.stack.customers_db(), &Generator::new(7), 300, false)
        .await
        .unwrap();
    assert_eq!(seeded, 300);

    let names: Vec<String> = SCENARIOS.iter().map(|(n, _)| n.to_string()).collect();
    let mut all = args(suite.gateway(), names.clone(), &suite.admin_token);
    all.cookie = Some(web_session(&suite).await);
    let results = bench::run(&all).await.unwrap();
    assert_eq!(results.len(), names.len());
    for r in &results {
        assert!(r.requests > 0, "{} produced no requests", r.scenario);
        assert!(r.errors.is_empty(), "{}: {:?}", r.scenario, r.errors);
        assert!(
            r.p50_ms > 0.0 && r.p50_ms <= r.p99_ms && r.p99_ms <= r.max_ms,
            "{r:?}"
        );
    }

    // Open loop at a fixed rate produces about rate × duration requests.
    let mut open = args(
        suite.gateway(),
        vec!["get-customer".into()],
        &suite.admin_token,
    );
    open.rate = Some(100.0);
    open.warmup = "0s".into();
    open.duration = "500ms".into();
    let r = &bench::run(&open).await.unwrap()[0];
    assert!((20..=60).contains(&r.requests), "{r:?}");
    assert!(r.errors.is_empty());

    // The echo floor, in-process, read with ids from the suite.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let floor = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crm_bench_floors::serve_on(
        listener,
        crm_bench_floors::Echo,
        async {
            let _ = rx.await;
        },
    ));
    let mut floor_args = args(floor, vec!["get-customer".into()], &suite.admin_token);
    floor_args.ids_from = Some(suite.gateway());
    let r = &bench::run(&floor_args).await.unwrap()[0];
    assert!(r.requests > 0 && r.errors.is_empty(), "{r:?}");
    let _ = tx.send(());
    server.await.unwrap().unwrap();
    suite.stop().await;
}

#[tokio::test]
async fn generator_writes_labelled_csv_and_xlsx() {
    let dir = tempfile::tempdir().unwrap();
    let mut generator = Generator::new(3);
    generator.duplicate_rate = 0.2;
    let csv_path = dir.path().join("customers.csv");
    bench::seed::write_csv(&csv_path, &generator, 400, true).unwrap();
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, bench::seed::FILE_HEADER);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 400);
    let labelled = rows.iter().filter(|r| !r[16].is_empty()).count();
    assert!(
        (40..=130).contains(&labelled),
        "{labelled} labelled duplicates"
    );
    assert!(
        dir.path()
            .join("customers_transactions.csv")
            .metadata()
            .unwrap()
            .len()
            > 100
    );
    assert!(
        dir.path()
            .join("customers_interactions.csv")
            .metadata()
            .unwrap()
            .len()
            > 100
    );

    let xlsx_path = dir.path().join("customers.xlsx");
    bench::seed::write_xlsx(&xlsx_path, &generator, 50).unwrap();
    let bytes = std::fs::read(&xlsx_path).unwrap();
    assert_eq!(&bytes[..2], b"PK", "an xlsx file is a zip archive");
}
