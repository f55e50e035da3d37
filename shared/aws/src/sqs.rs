use async_trait::async_trait;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use aws_sdk_sqs::Client;
use std::time::Duration;
use walletpay_ports::queue::MAX_MESSAGE_BYTES;
use walletpay_ports::{Queue, QueueError, QueueReceiver, ReceivedMessage};

/// One standard SQS queue, by URL.
#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

fn backend<E: std::error::Error + 'static>(e: E) -> QueueError {
    QueueError::Backend(format!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))
}

impl SqsQueue {
    pub fn new(config: &aws_config::SdkConfig, url: impl Into<String>) -> Self {
        SqsQueue {
            client: Client::new(config),
            url: url.into(),
        }
    }

    /// Another queue on the same SDK client (one client, and one connection pool, per
    /// process however many queues it sends to).
    pub fn sharing(&self, url: impl Into<String>) -> Self {
        SqsQueue {
            client: self.client.clone(),
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, body: &str, delay: Duration) -> Result<(), QueueError> {
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(QueueError::TooLarge(body.len()));
        }
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            // SQS counts whole seconds: round up, so a message is never early.
            .delay_seconds(delay.as_millis().div_ceil(1000).min(900) as i32)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl QueueReceiver for SqsQueue {
    async fn receive(&self, max: u32, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(backend)?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let receive_count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                ReceivedMessage {
                    message_id: m.message_id.unwrap_or_default(),
                    receipt_handle: m.receipt_handle.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                    receive_count,
                }
            })
            .collect())
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}
