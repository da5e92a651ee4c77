//! External services: an already-running URL; golive only checks it is reachable.

use crate::services::ExternalForm;
use crate::template::{Endpoint, Endpoints};

pub fn endpoint(form: &ExternalForm, endpoints: &Endpoints) -> Result<Endpoint, String> {
    let url = form.url.render(endpoints, None);
    let parsed =
        reqwest::Url::parse(&url).map_err(|e| format!("`{url}` is not a valid URL: {e}"))?;
    let host = crate::net::host(&parsed).ok_or_else(|| format!("`{url}` has no host"))?;
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| format!("`{url}` has no port"))?;
    Ok(Endpoint {
        url: url.trim_end_matches('/').to_string(),
        host,
        port,
        ports: Default::default(),
    })
}
