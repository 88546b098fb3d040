//! One pass over a JSON-RPC line: the envelope's members, read without
//! failing on their types (which [`super::jsonrpc`] judges after), and the
//! params read as the method needs while the line is read.
//!
//! Clients send `method` before `params`; then `params` is read once,
//! straight into what the method needs ([`ParamsSeed`]). If `params` comes
//! first, its raw text is kept and read once the method is known. A member
//! given twice keeps its last value, as in a JSON object (except a second
//! `method` after params read for the first).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::loose::{Loose, member_names};
use super::params::{Params, ParamsSeed};

/// The params as read: already read for the method, or raw text when they
/// came before the method.
#[derive(Debug)]
pub(crate) enum ParamsText<'a> {
    Read(Params<'a>),
    Raw(&'a RawValue),
}

/// The members of one message.
#[derive(Debug, Default)]
pub(crate) struct Envelope<'a> {
    pub(crate) jsonrpc: Option<Loose<'a>>,
    pub(crate) id: Option<Loose<'a>>,
    pub(crate) method: Option<Loose<'a>>,
    pub(crate) params: Option<ParamsText<'a>>,
    pub(crate) result: Option<Value>,
    pub(crate) error: Option<Value>,
}

member_names! {
    /// The names of the envelope's members.
    Member {
        Jsonrpc = "jsonrpc",
        Id = "id",
        Method = "method",
        Params = "params",
        Result = "result",
        Error = "error",
    }
}

impl<'de> serde::Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
        let mut envelope = Envelope::default();
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::Jsonrpc => envelope.jsonrpc = Some(map.next_value()?),
                Member::Id => envelope.id = Some(map.next_value()?),
                // Params already read for the first method cannot serve
                // another: such a line is refused like any other object
                // whose members repeat in a way that cannot be read.
                Member::Method if matches!(envelope.params, Some(ParamsText::Read(_))) => {
                    return Err(de::Error::duplicate_field("method"));
                }
                Member::Method => envelope.method = Some(map.next_value()?),
                Member::Params => {
                    envelope.params = Some(match &envelope.method {
                        Some(Loose::Str(method)) => {
                            let seed = ParamsSeed::for_method(method);
                            ParamsText::Read(map.next_value_seed(seed)?)
                        }
                        // Not known yet (or not a string): keep the text.
                        _ => ParamsText::Raw(map.next_value()?),
                    });
                }
                Member::Result => envelope.result = Some(map.next_value()?),
                Member::Error => envelope.error = Some(map.next_value()?),
                Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(envelope)
    }
}

/// Reads params that came before their method, now that it is known.
pub(crate) fn read_later<'a>(method: &str, raw: &'a RawValue) -> Result<Params<'a>, serde_json::Error> {
    let mut d = serde_json::Deserializer::from_str(raw.get());
    let params = ParamsSeed::for_method(method).deserialize(&mut d)?;
    d.end()?;
    Ok(params)
}
