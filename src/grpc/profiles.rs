//! `segmentation.v1.ProfileService`: ingestion and profile reads over `domain::ProfileService`.
//!
//! The streaming RPCs write each batch as it arrives (one domain call per stream message), so a
//! long stream never holds more than one batch in memory, and a batch that fails as a whole ends
//! the call with that batch's error while earlier batches stay written, as the contract says.

use tonic::{Request, Response, Status, Streaming};

use crate::context::RequestContext;
use crate::domain::profiles::ProfileService;
use crate::domain::{ProfileLookup, RecordResult};
use crate::error::Error;
use crate::grpc::convert::{
    count_record, member_page_out, profile_out, profile_page_out, record_result_out,
};
use crate::grpc::pb::{self, profile_service_server};
use crate::grpc::request_context;

/// The gRPC face of [`ProfileService`].
#[derive(Debug, Clone)]
pub struct ProfileApi {
    profiles: ProfileService,
    max_batch_records: usize,
}

impl ProfileApi {
    /// `max_batch_records` is the configured limit (`Settings::limits`), checked before the
    /// domain's own.
    pub fn new(profiles: ProfileService, max_batch_records: usize) -> ProfileApi {
        ProfileApi {
            profiles,
            max_batch_records,
        }
    }

    fn check_batch(&self, len: usize) -> Result<(), Error> {
        if len > self.max_batch_records {
            return Err(Error::invalid(
                "records",
                format!(
                    "{len} records in one batch; at most {} are accepted",
                    self.max_batch_records
                ),
            ));
        }
        Ok(())
    }

    async fn upsert_batch(
        &self,
        ctx: &RequestContext,
        records: Vec<String>,
    ) -> Result<Vec<RecordResult>, Error> {
        self.check_batch(records.len())?;
        self.profiles.upsert_profiles(ctx, records).await
    }

    async fn ingest_batch(
        &self,
        ctx: &RequestContext,
        records: Vec<String>,
    ) -> Result<Vec<RecordResult>, Error> {
        self.check_batch(records.len())?;
        self.profiles.ingest_events(ctx, records).await
    }
}

/// Per-record results of one unary batch, with their counts.
fn batch_outcome(results: Vec<RecordResult>) -> (Vec<pb::RecordResult>, pb::RecordCounts) {
    let mut counts = pb::RecordCounts::default();
    let results: Vec<pb::RecordResult> = results
        .into_iter()
        .map(|r| record_result_out(r, 0))
        .inspect(|r| count_record(&mut counts, r))
        .collect();
    (results, counts)
}

/// What a client stream adds up to: counts of every batch, and only the rejected records.
#[derive(Default)]
struct StreamTally {
    batches: i64,
    counts: pb::RecordCounts,
    rejected: Vec<pb::RecordResult>,
}

impl StreamTally {
    fn add(&mut self, results: Vec<RecordResult>) {
        for r in results {
            let r = record_result_out(r, self.batches);
            count_record(&mut self.counts, &r);
            if r.error.is_some() {
                self.rejected.push(r);
            }
        }
        self.batches += 1;
    }
}

#[tonic::async_trait]
impl profile_service_server::ProfileService for ProfileApi {
    async fn upsert_profiles(
        &self,
        request: Request<pb::UpsertProfilesRequest>,
    ) -> Result<Response<pb::UpsertProfilesResponse>, Status> {
        let ctx = request_context(&request)?;
        let results = self
            .upsert_batch(&ctx, request.into_inner().records)
            .await?;
        let (results, counts) = batch_outcome(results);
        Ok(Response::new(pb::UpsertProfilesResponse {
            results,
            counts: Some(counts),
        }))
    }

    async fn stream_upsert_profiles(
        &self,
        request: Request<Streaming<pb::StreamUpsertProfilesRequest>>,
    ) -> Result<Response<pb::StreamUpsertProfilesResponse>, Status> {
        let ctx = request_context(&request)?;
        let mut stream = request.into_inner();
        let mut tally = StreamTally::default();
        while let Some(batch) = stream.message().await? {
            tally.add(self.upsert_batch(&ctx, batch.records).await?);
        }
        Ok(Response::new(pb::StreamUpsertProfilesResponse {
            batch_count: tally.batches,
            counts: Some(tally.counts),
            rejected: tally.rejected,
        }))
    }

    async fn ingest_events(
        &self,
        request: Request<pb::IngestEventsRequest>,
    ) -> Result<Response<pb::IngestEventsResponse>, Status> {
        let ctx = request_context(&request)?;
        let results = self
            .ingest_batch(&ctx, request.into_inner().records)
            .await?;
        let (results, counts) = batch_outcome(results);
        Ok(Response::new(pb::IngestEventsResponse {
            results,
            counts: Some(counts),
        }))
    }

    async fn stream_ingest_events(
        &self,
        request: Request<Streaming<pb::StreamIngestEventsRequest>>,
    ) -> Result<Response<pb::StreamIngestEventsResponse>, Status> {
        let ctx = request_context(&request)?;
        let mut stream = request.into_inner();
        let mut tally = StreamTally::default();
        while let Some(batch) = stream.message().await? {
            tally.add(self.ingest_batch(&ctx, batch.records).await?);
        }
        Ok(Response::new(pb::StreamIngestEventsResponse {
            batch_count: tally.batches,
            counts: Some(tally.counts),
            rejected: tally.rejected,
        }))
    }

    async fn get_profile(
        &self,
        request: Request<pb::GetProfileRequest>,
    ) -> Result<Response<pb::GetProfileResponse>, Status> {
        let ctx = request_context(&request)?;
        let lookup = ProfileLookup::try_from(request.into_inner().lookup)?;
        let profile = self.profiles.get_profile(&ctx, &lookup).await?;
        Ok(Response::new(pb::GetProfileResponse {
            profile: Some(profile_out(profile, &ctx.tenant)),
        }))
    }

    async fn delete_profile(
        &self,
        request: Request<pb::DeleteProfileRequest>,
    ) -> Result<Response<pb::DeleteProfileResponse>, Status> {
        let ctx = request_context(&request)?;
        let lookup = ProfileLookup::try_from(request.into_inner().lookup)?;
        let profile_id = self.profiles.delete_profile(&ctx, &lookup).await?;
        Ok(Response::new(pb::DeleteProfileResponse { profile_id }))
    }

    async fn list_profiles(
        &self,
        request: Request<pb::ListProfilesRequest>,
    ) -> Result<Response<pb::ListProfilesResponse>, Status> {
        let ctx = request_context(&request)?;
        let query = request.into_inner().try_into()?;
        let page = self.profiles.list_profiles(&ctx, query).await?;
        Ok(Response::new(profile_page_out(page, &ctx.tenant)))
    }

    async fn list_segment_members(
        &self,
        request: Request<pb::ListSegmentMembersRequest>,
    ) -> Result<Response<pb::ListSegmentMembersResponse>, Status> {
        let ctx = request_context(&request)?;
        let query = request.into_inner().try_into()?;
        let page = self.profiles.list_segment_members(&ctx, query).await?;
        Ok(Response::new(member_page_out(page)))
    }
}
