//! A queue is one SQS queue (or its in-process twin). Producers only `send`; the local stack
//! and the tests also `receive` and `delete`, as Lambda's event source mapping does.

use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue backend error: {0}")]
    Backend(String),
    #[error("message too large: {0} bytes")]
    TooLarge(usize),
}

/// SQS's limit for one message.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// How many times this message has been handed out, this time included.
    pub receive_count: u32,
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Enqueues `body`, visible after `delay` (SQS allows up to 15 minutes).
    async fn send(&self, body: &str, delay: Duration) -> Result<(), QueueError>;
}

#[async_trait]
pub trait QueueReceiver: Send + Sync {
    /// Up to `max` visible messages, waiting up to `wait` for the first. A message handed out
    /// is hidden for the queue's visibility timeout, then comes back unless deleted; after
    /// the queue's maximum receive count it goes to the dead-letter queue.
    async fn receive(&self, max: u32, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError>;
    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError>;
}
