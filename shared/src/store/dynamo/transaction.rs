//! The outcome of a TransactWriteItems, told apart by its cancellation reasons.

use super::item::{unavailable, Item};
use crate::store::{StoreError, StoreResult};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::TransactionCanceledException;

/// Why DynamoDB cancelled a transaction, from its cancellation reasons (one per item, in
/// order; `None` for an item that was fine).
#[derive(Debug, PartialEq, Eq)]
enum Cancellation {
    /// Only conditions failed: the domain outcome (a lost race, an existing item).
    ConditionFailed,
    /// A concurrent transaction or throttling: transient, to be retried, never a domain outcome.
    Contention(String),
    /// Anything else (validation, size, missing reasons): a storage failure.
    Other(String),
}

fn cancellation(cancelled: &TransactionCanceledException) -> Cancellation {
    let codes: Vec<&str> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|reason| reason.code().unwrap_or("None"))
        .filter(|code| *code != "None")
        .collect();
    let listed = codes.join(", ");
    if codes.is_empty() {
        Cancellation::Other("no cancellation reason given".to_string())
    } else if codes.iter().all(|code| *code == "ConditionalCheckFailed") {
        Cancellation::ConditionFailed
    } else if codes.iter().any(|code| {
        matches!(
            *code,
            "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
        )
    }) {
        Cancellation::Contention(listed)
    } else {
        Cancellation::Other(listed)
    }
}

/// An item of a cancelled transaction whose condition failed: its place in the transaction
/// and, when the item asked for it (`ReturnValuesOnConditionCheckFailure::AllOld`), the item
/// as it was.
#[derive(Debug)]
pub(super) struct FailedCondition {
    pub(super) index: usize,
    pub(super) old: Option<Item>,
}

/// `Ok(())` when the transaction was written, `Err` naming the items whose conditions failed
/// when only conditions failed; contention and every other failure are errors.
pub(super) fn transaction_conditions<R>(
    result: Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError, R>>,
) -> StoreResult<Result<(), Vec<FailedCondition>>>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let err = match result {
        Ok(_) => return Ok(Ok(())),
        Err(err) => err,
    };
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    else {
        return Err(unavailable(err));
    };
    match cancellation(cancelled) {
        Cancellation::ConditionFailed => Ok(Err(cancelled
            .cancellation_reasons()
            .iter()
            .enumerate()
            .filter(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
            .map(|(index, reason)| FailedCondition {
                index,
                old: reason.item().cloned(),
            })
            .collect())),
        Cancellation::Contention(reasons) => Err(StoreError::Contention(reasons)),
        Cancellation::Other(reasons) => Err(StoreError::Unavailable(
            format!("transaction cancelled: {reasons}").into(),
        )),
    }
}

/// `true` when the transaction was written, `false` when only its conditions failed;
/// contention and every other failure are errors.
pub(super) fn transaction_written<R>(
    result: Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError, R>>,
) -> StoreResult<bool>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Ok(transaction_conditions(result)?.is_ok())
}

/// The outcome of a transaction of create-if-absent writes: `AlreadyExists` when one of
/// their conditions failed.
pub(super) fn transaction_created<R>(
    result: Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError, R>>,
) -> StoreResult<()>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if transaction_written(result)? {
        Ok(())
    } else {
        Err(StoreError::AlreadyExists)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::CancellationReason;

    fn cancelled(codes: &[&str]) -> TransactionCanceledException {
        codes
            .iter()
            .fold(TransactionCanceledException::builder(), |builder, code| {
                builder.cancellation_reasons(CancellationReason::builder().code(*code).build())
            })
            .build()
    }

    #[test]
    fn cancellations_are_told_apart_by_their_reasons() {
        assert_eq!(
            cancellation(&cancelled(&["ConditionalCheckFailed", "None"])),
            Cancellation::ConditionFailed
        );
        assert_eq!(
            cancellation(&cancelled(&["None", "ConditionalCheckFailed"])),
            Cancellation::ConditionFailed
        );
        for (codes, listed) in [
            (&["TransactionConflict", "None"][..], "TransactionConflict"),
            (&["None", "ThrottlingError"][..], "ThrottlingError"),
            (
                &["ProvisionedThroughputExceeded", "None"][..],
                "ProvisionedThroughputExceeded",
            ),
            // A conflict beside a failed condition may pass on a retry: not a domain outcome.
            (
                &["ConditionalCheckFailed", "TransactionConflict"][..],
                "ConditionalCheckFailed, TransactionConflict",
            ),
        ] {
            assert_eq!(
                cancellation(&cancelled(codes)),
                Cancellation::Contention(listed.to_string()),
                "{codes:?}"
            );
        }
        assert_eq!(
            cancellation(&cancelled(&["ValidationError", "None"])),
            Cancellation::Other("ValidationError".to_string())
        );
        assert_eq!(
            cancellation(&cancelled(&["ItemCollectionSizeLimitExceeded"])),
            Cancellation::Other("ItemCollectionSizeLimitExceeded".to_string())
        );
        assert!(matches!(
            cancellation(&cancelled(&[])),
            Cancellation::Other(_)
        ));
        assert!(matches!(
            cancellation(&cancelled(&["None", "None"])),
            Cancellation::Other(_)
        ));
    }

    fn outcome(codes: &[&str]) -> StoreResult<bool> {
        let error = TransactWriteItemsError::TransactionCanceledException(cancelled(codes));
        transaction_written::<()>(Err(SdkError::service_error(error, ())))
    }

    #[test]
    fn only_failed_conditions_are_a_domain_outcome() {
        assert!(matches!(
            transaction_written::<()>(Ok(TransactWriteItemsOutput::builder().build())),
            Ok(true)
        ));
        assert!(matches!(
            outcome(&["ConditionalCheckFailed", "None"]),
            Ok(false)
        ));
        assert!(matches!(
            outcome(&["None", "TransactionConflict"]),
            Err(StoreError::Contention(reasons)) if reasons == "TransactionConflict"
        ));
        assert!(matches!(
            outcome(&["ThrottlingError", "None"]),
            Err(StoreError::Contention(_))
        ));
        assert!(matches!(
            outcome(&["ValidationError"]),
            Err(StoreError::Unavailable(_))
        ));
        let other = TransactWriteItemsError::unhandled("connection reset");
        assert!(matches!(
            transaction_written::<()>(Err(SdkError::service_error(other, ()))),
            Err(StoreError::Unavailable(_))
        ));
    }

    #[test]
    fn failed_conditions_are_named_by_their_place_with_the_old_item() {
        use aws_sdk_dynamodb::types::AttributeValue;
        let old = std::collections::HashMap::from([(
            "code_hash".to_string(),
            AttributeValue::S("h".into()),
        )]);
        let cancelled = TransactionCanceledException::builder()
            .cancellation_reasons(CancellationReason::builder().code("None").build())
            .cancellation_reasons(
                CancellationReason::builder()
                    .code("ConditionalCheckFailed")
                    .set_item(Some(old.clone()))
                    .build(),
            )
            .build();
        let error = TransactWriteItemsError::TransactionCanceledException(cancelled);
        let Ok(Err(failed)) = transaction_conditions::<()>(Err(SdkError::service_error(error, ())))
        else {
            panic!("a failed condition")
        };
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].index, 1);
        assert_eq!(failed[0].old.as_ref(), Some(&old));
    }
}
