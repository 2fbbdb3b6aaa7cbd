//! SummarizeCustomers.
use crate::{
    profile::{CHANNELS, STAGES, TIERS, enum_value},
    service::Customers,
    statistics::{KINDS, ParetoPoint, Statistics},
};
use crm_platform::auth;
use crm_proto::crm::customers::v1::{
    CustomerStatistics, SummarizeCustomersRequest,
    customer_statistics::{
        KindCount, LifecycleStageCount, ParetoCurve, ParetoPoint as ProtoPoint, RegionCount,
        SourceChannelCount, ValueTierCount, WeekCount,
    },
};
use tonic::{Request, Response, Status};

pub(super) async fn summarize(
    c: &Customers,
    req: Request<SummarizeCustomersRequest>,
) -> Result<Response<CustomerStatistics>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let stats = c.summarize(&principal, &r.filter, r.weeks).await?;
    Ok(Response::new(statistics_proto(&stats)))
}

fn point(p: &ParetoPoint) -> ProtoPoint {
    ProtoPoint {
        customer_percent: i32::try_from(p.percent).unwrap_or(i32::MAX),
        customer_count: p.customers,
        lifetime_value_minor: p.value,
        value_share: p.share,
    }
}

/// Proto representation of statistics.
pub fn statistics_proto(s: &Statistics) -> CustomerStatistics {
    let top_20 = s.pareto_at(20);
    CustomerStatistics {
        total_count: s.total,
        by_lifecycle_stage: s
            .stages
            .iter()
            .map(|(stage, count)| LifecycleStageCount {
                lifecycle_stage: enum_value(Some(stage), STAGES),
                count: *count,
            })
            .collect(),
        by_value_tier: s
            .tiers
            .iter()
            .map(|(tier, count, value)| ValueTierCount {
                value_tier: enum_value(Some(tier), TIERS),
                count: *count,
                lifetime_value_minor: *value,
            })
            .collect(),
        by_kind: s
            .kinds
            .iter()
            .map(|(kind, count)| KindCount {
                kind: enum_value(Some(kind), KINDS),
                count: *count,
            })
            .collect(),
        by_source_channel: s
            .channels
            .iter()
            .map(|(channel, count)| SourceChannelCount {
                // "" (not known) is no channel name: SOURCE_CHANNEL_UNSPECIFIED.
                source_channel: enum_value(Some(channel), CHANNELS),
                count: *count,
            })
            .collect(),
        by_region: s
            .regions
            .iter()
            .map(|(region, count)| RegionCount {
                region: region.clone(),
                count: *count,
            })
            .collect(),
        other_regions_count: s.other_regions,
        new_customers_by_week: s
            .weeks
            .iter()
            .map(|(monday, count)| WeekCount {
                week_start_date: monday.format("%Y-%m-%d").to_string(),
                count: *count,
            })
            .collect(),
        lifetime_value_minor: s.lifetime_value,
        pareto: Some(ParetoCurve {
            points: s.pareto.iter().map(point).collect(),
            top_20_percent_share: top_20.map_or(0.0, |p| p.share),
            top_20_percent_count: top_20.map_or(0, |p| p.customers),
        }),
    }
}
