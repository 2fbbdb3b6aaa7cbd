//! `google.protobuf.Timestamp` with the proto3 JSON form the specification gives: RFC 3339,
//! "Z"-normalised, with 0, 3, 6 or 9 fractional digits. pbjson-types writes "+00:00" instead,
//! so the REST answers written by generated code would differ from the reflective ones (and
//! from what clients of any other proto3 JSON API parse). Everything else comes from
//! pbjson-types.
use serde::de::Error as _;
use serde::ser::Error as _;

/// A point in time: seconds and nanoseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, PartialEq, Eq, Hash, ::prost::Message)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Non-negative fractions of a second, 0 to 999,999,999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl ::prost::Name for Timestamp {
    const NAME: &'static str = "Timestamp";
    const PACKAGE: &'static str = "google.protobuf";
    fn full_name() -> String {
        "google.protobuf.Timestamp".into()
    }
    fn type_url() -> String {
        "type.googleapis.com/google.protobuf.Timestamp".into()
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let nanos = u32::try_from(self.nanos).map_err(|_| S::Error::custom("negative nanos"))?;
        let t = chrono::DateTime::from_timestamp(self.seconds, nanos)
            .ok_or_else(|| S::Error::custom("timestamp out of range"))?;
        serializer.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let t = chrono::DateTime::parse_from_rfc3339(&text).map_err(D::Error::custom)?;
        Ok(Timestamp {
            seconds: t.timestamp(),
            nanos: i32::try_from(t.timestamp_subsec_nanos()).map_err(D::Error::custom)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Timestamp;

    #[test]
    fn json_is_z_normalised_and_reads_back() {
        for (seconds, nanos, text) in [
            (0, 0, "1970-01-01T00:00:00Z"),
            (1_767_323_045, 123_000_000, "2026-01-02T03:04:05.123Z"),
            (1_767_323_045, 123_456_789, "2026-01-02T03:04:05.123456789Z"),
            (-1, 999_999_000, "1969-12-31T23:59:59.999999Z"),
        ] {
            let t = Timestamp { seconds, nanos };
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        }
        let offset: Timestamp = serde_json::from_str("\"2026-01-02T11:04:05+08:00\"").unwrap();
        assert_eq!(offset.seconds, 1_767_323_045);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        assert!(
            serde_json::to_string(&Timestamp {
                seconds: 0,
                nanos: -1
            })
            .is_err()
        );
    }
}
