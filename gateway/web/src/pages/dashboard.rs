//! The customers dashboard: charts first (SVG drawn here, so CJK labels render as the browser
//! renders text), the numbers in each mark's tooltip and in a table for screen readers. The
//! figures come from the customers service's SummarizeCustomers, which applies the user's data
//! scope: a manager sees their subtree, a rep their own customers.
use super::{Chrome, render};
use crate::{Web, call, guard::Ctx, i18n::Tr};
use askama::Template;
use axum::{Extension, extract::State, response::Response};
use crm_proto::crm::customers::v1::{
    CustomerStatistics, SummarizeCustomersRequest,
    customer::{LifecycleStage, SourceChannel, ValueTier},
    customer_service_client::CustomerServiceClient,
};

/// One bar of a bar chart.
pub struct Bar {
    /// Its label.
    pub label: String,
    /// The value as shown.
    pub text: String,
    /// Length in percent of the longest bar (0-100).
    pub length: f64,
}

/// A horizontal bar chart.
pub struct Bars {
    /// Element id.
    pub id: &'static str,
    /// Catalog key of its title.
    pub title: &'static str,
    /// The bars, in order.
    pub bars: Vec<Bar>,
}

impl Bars {
    fn new(id: &'static str, title: &'static str, rows: Vec<(String, i64, String)>) -> Bars {
        let max = rows.iter().map(|(_, v, _)| *v).max().unwrap_or(0).max(1) as f64;
        Bars {
            id,
            title,
            bars: rows
                .into_iter()
                .map(|(label, value, text)| Bar {
                    label,
                    text,
                    length: value as f64 / max * 100.0,
                })
                .collect(),
        }
    }

    /// The SVG height for the bars (one 28 px row each).
    pub fn height(&self) -> usize {
        self.bars.len() * 28 + 4
    }
}

/// A column of the new-customers chart.
pub struct Column {
    /// x of the column (0-100 of the chart width).
    pub x: f64,
    /// Height in percent of the tallest (0-100).
    pub height: f64,
    /// The week's label and count, shown on hover.
    pub tip: String,
}

/// The dashboard page.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    /// The chrome.
    pub c: Chrome,
    /// Customers in scope.
    pub total: String,
    /// Bar charts: stage, tier, source, region, lifetime value by tier.
    pub charts: Vec<Bars>,
    /// New customers per week.
    pub weeks: Vec<Column>,
    /// Column width (percent of the chart).
    pub week_width: f64,
    /// The Pareto curve as SVG polyline points (x = % of customers, y = 100 - % of value).
    pub pareto_points: String,
    /// Share of lifetime value from the top 20% of customers, formatted.
    pub top20: String,
    /// The curve's points as (customers %, value share formatted, y in the chart) for the dots,
    /// their tooltips and the table.
    pub pareto: Vec<(i32, String, f64)>,
}

fn label(tr: &Tr, prefix: &str, name: &str) -> String {
    tr.t(&format!("{prefix}.{name}")).to_owned()
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// The charts of the page: bar charts, weekly columns, the Pareto polyline and its points.
pub type Charts = (Vec<Bars>, Vec<Column>, String, Vec<(i32, String, f64)>);

/// Builds the page's charts from the statistics.
pub fn build(tr: &Tr, s: &CustomerStatistics) -> Charts {
    let count = |n: i64| tr.number(n);
    let stages = s
        .by_lifecycle_stage
        .iter()
        .map(|r| {
            let name =
                LifecycleStage::try_from(r.lifecycle_stage).unwrap_or(LifecycleStage::Unspecified);
            let text = if name == LifecycleStage::Unspecified {
                tr.t("dashboard.unset").to_owned()
            } else {
                label(tr, "stage", name.as_str_name())
            };
            (text, r.count, count(r.count))
        })
        .collect();
    let tier_name = |t: i32| match ValueTier::try_from(t).unwrap_or(ValueTier::Unspecified) {
        ValueTier::Unspecified => tr.t("dashboard.unset").to_owned(),
        t => t.as_str_name().to_owned(),
    };
    let tiers = s
        .by_value_tier
        .iter()
        .map(|r| (tier_name(r.value_tier), r.count, count(r.count)))
        .collect();
    let value_by_tier = s
        .by_value_tier
        .iter()
        .map(|r| {
            (
                tier_name(r.value_tier),
                r.lifetime_value_minor,
                tr.money(r.lifetime_value_minor, "CNY"),
            )
        })
        .collect();
    let sources = s
        .by_source_channel
        .iter()
        .map(|r| {
            let name =
                SourceChannel::try_from(r.source_channel).unwrap_or(SourceChannel::Unspecified);
            let text = if name == SourceChannel::Unspecified {
                tr.t("dashboard.unset").to_owned()
            } else {
                label(tr, "channel", name.as_str_name())
            };
            (text, r.count, count(r.count))
        })
        .collect();
    let mut regions: Vec<(String, i64, String)> = s
        .by_region
        .iter()
        .map(|r| {
            let name = if r.region.is_empty() {
                tr.t("dashboard.unset").to_owned()
            } else {
                r.region.clone()
            };
            (name, r.count, count(r.count))
        })
        .collect();
    if s.other_regions_count > 0 {
        regions.push((
            tr.t("dashboard.other").to_owned(),
            s.other_regions_count,
            count(s.other_regions_count),
        ));
    }
    let charts = vec![
        Bars::new("by-stage", "dashboard.by_stage", stages),
        Bars::new("by-tier", "dashboard.by_tier", tiers),
        Bars::new("by-source", "dashboard.by_source", sources),
        Bars::new("by-region", "dashboard.by_region", regions),
        Bars::new("value-by-tier", "dashboard.value_by_tier", value_by_tier),
    ];
    let most = s
        .new_customers_by_week
        .iter()
        .map(|w| w.count)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = s.new_customers_by_week.len().max(1) as f64;
    let weeks = s
        .new_customers_by_week
        .iter()
        .enumerate()
        .map(|(i, w)| Column {
            x: i as f64 * 100.0 / n,
            height: w.count as f64 / most * 100.0,
            tip: format!("{} · {}", w.week_start_date, count(w.count)),
        })
        .collect();
    let curve = s.pareto.clone().unwrap_or_default();
    let mut points = String::from("0,100");
    let mut table = Vec::new();
    for p in &curve.points {
        points.push_str(&format!(
            " {},{:.2}",
            p.customer_percent,
            100.0 - p.value_share * 100.0
        ));
        table.push((
            p.customer_percent,
            percent(p.value_share),
            100.0 - p.value_share * 100.0,
        ));
    }
    (charts, weeks, points, table)
}

/// GET /dashboard
pub async fn page(State(web): State<Web>, Extension(ctx): Extension<Ctx>) -> Response {
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    let request = SummarizeCustomersRequest {
        filter: String::new(),
        weeks: 12,
    };
    let stats = match client.summarize_customers(call(&ctx, request)).await {
        Ok(s) => s.into_inner(),
        Err(status) => return super::error_page(&ctx, &status),
    };
    let (charts, weeks, pareto_points, pareto) = build(&ctx.tr, &stats);
    let n = stats.new_customers_by_week.len().max(1) as f64;
    render(&DashboardPage {
        c: Chrome::new(&ctx, "dashboard"),
        total: ctx.tr.number(stats.total_count),
        charts,
        week_width: 100.0 / n * 0.8,
        weeks,
        pareto_points,
        top20: percent(
            stats
                .pareto
                .as_ref()
                .map(|p| p.top_20_percent_share)
                .unwrap_or(0.0),
        ),
        pareto,
    })
}
