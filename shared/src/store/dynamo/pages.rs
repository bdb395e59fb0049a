//! The one pagination helper: every Scan and Query is read with it. DynamoDB answers at
//! most 1 MB (or `Limit` items) per call and a `LastEvaluatedKey` when there is more; the
//! next call starts there (`ExclusiveStartKey`). A read that stops at the first page
//! loses items silently, so no listing sends its own loop.

use super::item::{unavailable, Item};
use crate::store::StoreResult;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use std::future::Future;

/// A Scan or a Query with everything but its paging set.
pub(super) enum PagedRead {
    Scan(ScanFluentBuilder),
    Query(QueryFluentBuilder),
}

impl From<ScanFluentBuilder> for PagedRead {
    fn from(scan: ScanFluentBuilder) -> Self {
        PagedRead::Scan(scan)
    }
}

impl From<QueryFluentBuilder> for PagedRead {
    fn from(query: QueryFluentBuilder) -> Self {
        PagedRead::Query(query)
    }
}

/// One page: its items, and where the next one starts (`None` after the last).
pub(super) struct Page {
    items: Vec<Item>,
    next: Option<Item>,
}

impl Page {
    fn new(items: Option<Vec<Item>>, last_evaluated_key: Option<Item>) -> Self {
        Page {
            items: items.unwrap_or_default(),
            // An empty key is no key: the last page.
            next: last_evaluated_key.filter(|key| !key.is_empty()),
        }
    }
}

/// Sends one page of a Scan or a Query: their builders share these setters and their
/// outputs these fields, but no trait.
macro_rules! send_page {
    ($request:expr, $start:expr, $page_size:expr) => {{
        let output = $request
            .clone()
            .set_exclusive_start_key($start)
            .set_limit($page_size)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(Page::new(output.items, output.last_evaluated_key))
    }};
}

impl PagedRead {
    async fn page(&self, start: Option<Item>, page_size: Option<i32>) -> StoreResult<Page> {
        match self {
            PagedRead::Scan(scan) => send_page!(scan, start, page_size),
            PagedRead::Query(query) => send_page!(query, start, page_size),
        }
    }
}

/// Every item of a Scan or a Query, page after page; `page_size` is the most items a page
/// holds (`None`: DynamoDB's 1 MB pages).
pub(super) async fn read_all_pages(
    read: impl Into<PagedRead>,
    page_size: Option<i32>,
) -> StoreResult<Vec<Item>> {
    let read = read.into();
    follow_pages(|start| read.page(start, page_size)).await
}

/// Asks for pages until one names no next page.
async fn follow_pages<ReadPage, PageRead>(mut read_page: ReadPage) -> StoreResult<Vec<Item>>
where
    ReadPage: FnMut(Option<Item>) -> PageRead,
    PageRead: Future<Output = StoreResult<Page>>,
{
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = read_page(start).await?;
        items.extend(page.items);
        match page.next {
            Some(next) => start = Some(next),
            None => return Ok(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::item::key;
    use super::*;
    use crate::store::StoreError;
    use std::cell::RefCell;

    /// `follow_pages` over scripted pages of ids; returns the ids read and where each
    /// request started.
    async fn scripted(
        pages: Vec<(Vec<&'static str>, Option<Item>)>,
    ) -> (StoreResult<Vec<String>>, Vec<Option<Item>>) {
        let pages = RefCell::new(pages.into_iter());
        let starts = RefCell::new(Vec::new());
        let result = follow_pages(|start| {
            starts.borrow_mut().push(start);
            let page = pages.borrow_mut().next();
            async move {
                let Some((ids, next)) = page else {
                    panic!("read more pages than scripted")
                };
                Ok(Page::new(
                    Some(ids.into_iter().map(|id| key("id", id)).collect()),
                    next,
                ))
            }
        })
        .await;
        let ids = result.map(|items| {
            items
                .iter()
                .filter_map(|item| item.get("id")?.as_s().ok().cloned())
                .collect()
        });
        (ids, starts.into_inner())
    }

    #[tokio::test]
    async fn every_page_is_read_from_where_the_last_one_ended() {
        let (ids, starts) = scripted(vec![
            (vec!["a", "b"], Some(key("id", "b"))),
            (vec!["c", "d"], Some(key("id", "d"))),
            (vec!["e"], None),
        ])
        .await;
        assert_eq!(
            ids.ok(),
            Some(["a", "b", "c", "d", "e"].map(String::from).to_vec())
        );
        assert_eq!(starts, [None, Some(key("id", "b")), Some(key("id", "d"))]);
    }

    #[tokio::test]
    async fn an_empty_last_evaluated_key_ends_the_read() {
        let (ids, starts) = scripted(vec![(vec!["a"], Some(Item::new()))]).await;
        assert_eq!(ids.ok(), Some(vec!["a".to_string()]));
        assert_eq!(starts.len(), 1);
    }

    #[tokio::test]
    async fn a_failed_page_fails_the_read() {
        let result = follow_pages(|start| async move {
            match start {
                None => Ok(Page::new(Some(vec![key("id", "a")]), Some(key("id", "a")))),
                Some(_) => Err(StoreError::Unavailable("throttled".into())),
            }
        })
        .await;
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
    }
}
