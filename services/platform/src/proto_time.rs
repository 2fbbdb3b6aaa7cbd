//! Timestamps between chrono and protobuf (`google.protobuf.Timestamp`), one way for every
//! service: what is stored has microsecond precision (PostgreSQL's), so values read from
//! requests are cut to it and compare equal after a round trip.
use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// A time in proto form.
pub fn timestamp(t: DateTime<Utc>) -> crm_proto::Timestamp {
    crm_proto::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A proto time, cut to microseconds; `None` when out of range.
pub fn from_timestamp(t: &crm_proto::Timestamp) -> Option<DateTime<Utc>> {
    let t = DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))?;
    Some(t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_microsecond_precision() {
        let t = crate::db::now();
        assert_eq!(from_timestamp(&timestamp(t)), Some(t));
        let finer = crm_proto::Timestamp {
            seconds: 1_700_000_000,
            nanos: 123_456_789,
        };
        assert_eq!(
            from_timestamp(&finer).map(|t| t.timestamp_subsec_nanos()),
            Some(123_456_000)
        );
        // Negative nanos are invalid proto; read as the whole second rather than refused.
        let odd = crm_proto::Timestamp {
            seconds: 5,
            nanos: -1,
        };
        assert_eq!(from_timestamp(&odd).map(|t| t.timestamp()), Some(5));
    }
}
