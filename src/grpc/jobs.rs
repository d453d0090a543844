//! `segmentation.v1.SegmentJobService` over `domain::JobService`. WatchSegmentJob turns the
//! domain's watch channel into a server stream; dropping the stream (the client went away)
//! stops the watch.

use std::pin::Pin;

use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::domain::{JobInput, JobService};
use crate::grpc::job_convert::job_out;
use crate::grpc::pb::{self, segment_job_service_server};
use crate::grpc::request_context;
use crate::grpc::status::error_detail;

/// The gRPC face of [`JobService`].
#[derive(Debug, Clone)]
pub struct SegmentJobApi {
    jobs: JobService,
}

impl SegmentJobApi {
    pub fn new(jobs: JobService) -> SegmentJobApi {
        SegmentJobApi { jobs }
    }
}

type WatchStream =
    Pin<Box<dyn Stream<Item = Result<pb::WatchSegmentJobResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl segment_job_service_server::SegmentJobService for SegmentJobApi {
    async fn create_segment_job(
        &self,
        request: Request<pb::CreateSegmentJobRequest>,
    ) -> Result<Response<pb::CreateSegmentJobResponse>, Status> {
        let ctx = request_context(&request)?;
        let input = JobInput::try_from(request.into_inner())?;
        let job = self.jobs.create(&ctx, input).await?;
        Ok(Response::new(pb::CreateSegmentJobResponse {
            segment_job: Some(job_out(job, &ctx.tenant)),
        }))
    }

    async fn get_segment_job(
        &self,
        request: Request<pb::GetSegmentJobRequest>,
    ) -> Result<Response<pb::GetSegmentJobResponse>, Status> {
        let ctx = request_context(&request)?;
        let job = self.jobs.get(&ctx, &request.into_inner().id).await?;
        Ok(Response::new(pb::GetSegmentJobResponse {
            segment_job: Some(job_out(job, &ctx.tenant)),
        }))
    }

    async fn list_segment_jobs(
        &self,
        request: Request<pb::ListSegmentJobsRequest>,
    ) -> Result<Response<pb::ListSegmentJobsResponse>, Status> {
        let ctx = request_context(&request)?;
        let query = request.into_inner().try_into()?;
        let list = self.jobs.list(&ctx, query).await?;
        Ok(Response::new(pb::ListSegmentJobsResponse {
            segment_jobs: list
                .page
                .items
                .into_iter()
                .map(|j| job_out(j, &ctx.tenant))
                .collect(),
            next_page_token: list.page.next_page_token.unwrap_or_default(),
            total_size: i64::try_from(list.page.total_count).unwrap_or(i64::MAX),
            order_by: list.sort.to_wire(),
        }))
    }

    async fn batch_get_segment_jobs(
        &self,
        request: Request<pb::BatchGetSegmentJobsRequest>,
    ) -> Result<Response<pb::BatchGetSegmentJobsResponse>, Status> {
        use pb::segment_job_result::Result as Outcome;
        let ctx = request_context(&request)?;
        let ids = request.into_inner().ids;
        let results = self
            .jobs
            .batch_get(&ctx, &ids)
            .await?
            .into_iter()
            .map(|r| pb::SegmentJobResult {
                id: r.id,
                result: Some(match r.result {
                    Ok(j) => Outcome::SegmentJob(job_out(j, &ctx.tenant)),
                    Err(e) => Outcome::Error(error_detail(&e)),
                }),
            })
            .collect();
        Ok(Response::new(pb::BatchGetSegmentJobsResponse { results }))
    }

    async fn cancel_segment_job(
        &self,
        request: Request<pb::CancelSegmentJobRequest>,
    ) -> Result<Response<pb::CancelSegmentJobResponse>, Status> {
        let ctx = request_context(&request)?;
        let job = self.jobs.cancel(&ctx, &request.into_inner().id).await?;
        Ok(Response::new(pb::CancelSegmentJobResponse {
            segment_job: Some(job_out(job, &ctx.tenant)),
        }))
    }

    type WatchSegmentJobStream = WatchStream;

    async fn watch_segment_job(
        &self,
        request: Request<pb::WatchSegmentJobRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let ctx = request_context(&request)?;
        let rx = self.jobs.watch(&ctx, &request.into_inner().id).await?;
        let tenant = ctx.tenant;
        let stream = ReceiverStream::new(rx).map(move |item| {
            item.map(|job| pb::WatchSegmentJobResponse {
                segment_job: Some(job_out(job, &tenant)),
            })
            .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
