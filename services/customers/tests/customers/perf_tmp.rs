use crm_customers::{service::Customers, store::Store};
use crm_platform::auth::{DataScope, Principal, Subject};
use uuid::Uuid;

#[tokio::test]
#[ignore]
async fn perf_tmp() {
    for url in ["postgres://postgres@127.0.0.1:5432/crm_stats_check", "sqlite:///tmp/statsperf/c.db", "postgres://postgres@127.0.0.1:5432/crm_stats_1m"] {
        let db = crm_platform::db::Db::connect(url, Default::default()).await.unwrap();
        let c = Customers::new(Store::new(db));
        let owner = Uuid::parse_str("00000000-0000-7000-8000-000000000007").unwrap();
        let rep = Principal { subject: Subject::User(owner), unit_path: "/".into(), scopes: [("customers".to_owned(), DataScope::Own(owner))].into(), ..Principal::system() };
        let admin = Principal { subject: Subject::User(Uuid::now_v7()), unit_path: "/".into(), scopes: [("customers".to_owned(), DataScope::All)].into(), ..Principal::system() };
        for (label, p, filter, weeks) in [("all", &admin, "", 12), ("all weeks=104", &admin, "", 104), ("all tier A", &admin, "value_tier = A", 12), ("own", &rep, "", 12)] {
            let mut times = Vec::new();
            let mut s = None;
            for _ in 0..5 {
                let t = std::time::Instant::now();
                s = Some(c.summarize(p, filter, weeks).await.unwrap());
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            let s = s.unwrap();
            times.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!("{url} {label}: total {} top20 {:.3} median {:.1} ms min {:.1} ms max {:.1}", s.total, s.pareto_at(20).unwrap().share, times[2], times[0], times[4]);
        }
    }
}
