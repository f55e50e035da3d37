//! The table's change stream read as Lambda's event source mapping reads it: every shard
//! from its oldest record (`TRIM_HORIZON`), then on from where the last read stopped, new
//! shards picked up as the stream splits. The local stack on the AWS backend feeds the back
//! office's aggregates from it, with the consumer the `payment-analytics` function runs.

use aws_sdk_dynamodb::types::AttributeValue as Av;
use aws_sdk_dynamodbstreams::types::{AttributeValue as Sv, ShardIteratorType};
use std::collections::{HashMap, HashSet};
use walletpay_ports::{PaymentVersion, StoreError};

pub struct StreamReader {
    table: String,
    tables: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    stream_arn: Option<String>,
    /// Open shards and where each read goes on from.
    iterators: HashMap<String, String>,
    finished: HashSet<String>,
}

fn backend<E: std::error::Error + 'static>(e: E) -> StoreError {
    StoreError::Backend(format!(
        "{}",
        aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
    ))
}

/// A stream's attribute value as the table's SDK types it (the two SDKs type the same
/// wire format apart).
fn convert(v: Sv) -> Av {
    match v {
        Sv::S(s) => Av::S(s),
        Sv::N(n) => Av::N(n),
        Sv::B(b) => Av::B(aws_sdk_dynamodb::primitives::Blob::new(b.into_inner())),
        Sv::Bool(b) => Av::Bool(b),
        Sv::Null(n) => Av::Null(n),
        Sv::Ss(v) => Av::Ss(v),
        Sv::Ns(v) => Av::Ns(v),
        Sv::Bs(v) => Av::Bs(
            v.into_iter()
                .map(|b| aws_sdk_dynamodb::primitives::Blob::new(b.into_inner()))
                .collect(),
        ),
        Sv::L(v) => Av::L(v.into_iter().map(convert).collect()),
        Sv::M(m) => Av::M(m.into_iter().map(|(k, v)| (k, convert(v))).collect()),
        _ => Av::Null(true),
    }
}

/// The streams client: at `AWS_ENDPOINT_URL_DYNAMODB_STREAMS` when set, else beside the
/// table's endpoint when that is set (DynamoDB Local serves both), else AWS's.
fn streams_client(config: &aws_config::SdkConfig) -> aws_sdk_dynamodbstreams::Client {
    let mut b = aws_sdk_dynamodbstreams::config::Builder::from(config);
    if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB_STREAMS").is_none() {
        if let Ok(url) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
            b = b.endpoint_url(url);
        }
    }
    aws_sdk_dynamodbstreams::Client::from_conf(b.build())
}

impl StreamReader {
    pub fn new(config: &aws_config::SdkConfig, table: &str) -> Self {
        StreamReader {
            table: table.to_string(),
            tables: aws_sdk_dynamodb::Client::new(config),
            streams: streams_client(config),
            stream_arn: None,
            iterators: HashMap::new(),
            finished: HashSet::new(),
        }
    }

    async fn discover(&mut self) -> Result<(), StoreError> {
        if self.stream_arn.is_none() {
            let t = self
                .tables
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| {
                    StoreError::Backend(format!(
                        "{}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    ))
                })?;
            self.stream_arn = t
                .table()
                .and_then(|t| t.latest_stream_arn())
                .map(str::to_string);
        }
        let Some(arn) = self.stream_arn.clone() else {
            return Err(StoreError::Backend(format!(
                "table {} has no stream",
                self.table
            )));
        };
        let d = self
            .streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .map_err(backend)?;
        for shard in d
            .stream_description()
            .map(|s| s.shards())
            .unwrap_or_default()
        {
            let Some(id) = shard.shard_id() else { continue };
            if self.iterators.contains_key(id) || self.finished.contains(id) {
                continue;
            }
            let it = self
                .streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .map_err(backend)?;
            if let Some(it) = it.shard_iterator() {
                self.iterators.insert(id.to_string(), it.to_string());
            }
        }
        Ok(())
    }

    /// The payment versions written since the last call (none when nothing new), each
    /// once. Items that are no payment version are left out.
    pub async fn next_versions(&mut self) -> Result<Vec<PaymentVersion>, StoreError> {
        self.discover().await?;
        let mut out = Vec::new();
        let shards: Vec<(String, String)> = self
            .iterators
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (shard, iterator) in shards {
            let page = match self
                .streams
                .get_records()
                .shard_iterator(&iterator)
                .limit(1000)
                .send()
                .await
            {
                Ok(page) => page,
                // An expired or broken iterator: the shard is read again from its oldest
                // record at the next call (what was counted is not counted twice).
                Err(e) => {
                    tracing::warn!(shard, error = %backend(e), "a stream shard is read again from its start");
                    self.iterators.remove(&shard);
                    continue;
                }
            };
            for r in page.records() {
                let Some(image) = r.dynamodb().and_then(|d| d.new_image()) else {
                    continue;
                };
                let item: HashMap<String, Av> = image
                    .iter()
                    .map(|(k, v)| (k.clone(), convert(v.clone())))
                    .collect();
                match crate::version_from_image(&item) {
                    Some(Ok(v)) => out.push(v),
                    Some(Err(e)) => {
                        tracing::error!(shard, error = %e, "a payment version in the stream does not read; left out")
                    }
                    None => {}
                }
            }
            match page.next_shard_iterator() {
                Some(next) => {
                    self.iterators.insert(shard, next.to_string());
                }
                None => {
                    self.iterators.remove(&shard);
                    self.finished.insert(shard);
                }
            }
        }
        Ok(out)
    }
}
