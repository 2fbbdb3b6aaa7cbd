//! `request_id` on the creates and mutating custom methods of sub-resources (AIP-155): a retry
//! gets the first response and writes nothing twice. The write and the record of its request id
//! commit in one transaction (`idempotency::claiming`); the response is stored right after.
use crate::{error::Error, service::Customers};
use crm_platform::idempotency::{
    PENDING, Replay, check_request_id, claiming, fingerprint, lookup, record_response,
};
use prost::Message;
use tonic::Status;

/// How long a call waits for a concurrent call with its request id to answer.
const PENDING_WAIT_MS: u64 = 2_000;

/// Runs `work` for `request` once per `request_id` (none: every time).
pub(super) async fn once<P: Message + Default>(
    c: &Customers,
    method: &'static str,
    request_id: &str,
    request: &impl Message,
    work: impl Future<Output = Result<P, Status>>,
) -> Result<P, Status> {
    let id = match check_request_id(request_id) {
        Ok(Some(id)) => id,
        Ok(None) => return work.await,
        Err(e) => return Err(Error::field("request_id", e).into()),
    };
    let db = c.store.db();
    let print = fingerprint(&request.encode_to_vec());
    if let Some(done) = earlier::<P>(c, method, id, &print).await? {
        return Ok(done);
    }
    match claiming(id, method, &print, work).await {
        (Ok(response), claimed) => {
            record_response(db, id, method, &print, &response.encode_to_vec(), claimed)
                .await
                .map_err(Error::from)?;
            Ok(response)
        }
        // A concurrent call with the same id may have won: then this one answers as it did.
        (Err(status), _) => match earlier::<P>(c, method, id, &print).await? {
            Some(done) => Ok(done),
            None => Err(status),
        },
    }
}

/// The response of an earlier call with this id, if there was one.
async fn earlier<P: Message + Default>(
    c: &Customers,
    method: &str,
    id: &str,
    print: &str,
) -> Result<Option<P>, Status> {
    // A concurrent call with this id that has written but not answered yet: wait for its
    // response a little, as a retry would.
    let mut waited = 0;
    let record = loop {
        match lookup(c.store.db(), method, id, print)
            .await
            .map_err(Error::from)?
        {
            Replay::Again(bytes) if bytes == PENDING && waited < PENDING_WAIT_MS => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                waited += 20;
            }
            other => break other,
        }
    };
    match record {
        Replay::First => Ok(None),
        Replay::Again(bytes) if bytes == PENDING => Err(Status::aborted(
            "a request with this request_id is in progress, or it completed and its response was \
             lost: read the resource before retrying with a new request_id",
        )),
        Replay::Again(bytes) => P::decode(bytes.as_slice())
            .map(Some)
            .map_err(|e| Error::Corrupt(format!("stored response: {e}")).into()),
        Replay::Reused => {
            Err(Error::field("request_id", "was already used for a different request").into())
        }
    }
}

/// An RPC made idempotent by its request's `request_id` (see [`once`]).
pub(super) async fn rpc<Req, P, Fut>(
    c: &Customers,
    method: &'static str,
    req: tonic::Request<Req>,
    request_id: fn(&Req) -> &str,
    handler: impl FnOnce(tonic::Request<Req>) -> Fut,
) -> Result<tonic::Response<P>, Status>
where
    Req: Message + Clone,
    P: Message + Default,
    Fut: Future<Output = Result<tonic::Response<P>, Status>>,
{
    let message = req.get_ref().clone();
    let id = request_id(&message).to_owned();
    once(c, method, &id, &message, async move {
        handler(req).await.map(tonic::Response::into_inner)
    })
    .await
    .map(tonic::Response::new)
}
