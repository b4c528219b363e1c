//! The former home of [`Core`] and the admin operations, kept as a path for code written
//! against it: new code imports `crate::service::Core` and `crate::admin::…`.

pub use crate::admin::*;
pub use crate::service::Core;
