//! Helpers shared by the unit tests of the wire types.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// `value` serialises to exactly `wire` (the bytes the server wrote with `json!` before these
/// types existed) and reads back from it unchanged.
pub fn assert_wire<T>(value: &T, wire: &str)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    assert_eq!(serde_json::to_string(value).unwrap(), wire);
    assert_eq!(&serde_json::from_str::<T>(wire).unwrap(), value);
}

/// `value` serialises to the JSON `wire` (the field set and values; key order aside) and reads
/// back from it unchanged.
pub fn assert_json<T>(value: &T, wire: serde_json::Value)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    assert_eq!(serde_json::to_value(value).unwrap(), wire);
    assert_eq!(&serde_json::from_value::<T>(wire).unwrap(), value);
}

/// The JSON object `base` with the fields of the object `more` added (or replaced).
pub fn with_fields(mut base: serde_json::Value, more: serde_json::Value) -> serde_json::Value {
    let (Some(obj), serde_json::Value::Object(more)) = (base.as_object_mut(), more) else {
        panic!("two JSON objects");
    };
    obj.extend(more);
    base
}
