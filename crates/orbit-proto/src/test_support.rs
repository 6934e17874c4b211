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
