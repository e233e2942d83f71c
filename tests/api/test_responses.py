"""The response models against the bodies built outside the API handlers: the webhook's (built
by the batch runner) and the real pipeline's preview (built in a worker). Each must be exactly
what its model describes, key order included, since /openapi.json is generated from the models."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from service import pipeline
from service.api.responses import ApiBatchStatus, ApiPreview, ApiWebhookEvent
from service.jobs.webhook import body_of
from service.store import BatchStatus
from tests.conftest import EXAMPLES

STARTED = datetime(2024, 3, 1, 8, 30, 0, 250_000, tzinfo=UTC)


@pytest.mark.parametrize(
    "status",
    [
        BatchStatus("bat_1", STARTED, STARTED, 3, 0, 0, 2, 1, "pending"),
        BatchStatus("bat_2", STARTED, None, 7, 4, 1, 1, 1, "waiting"),
    ],
)
def test_the_webhook_body_is_the_described_event(status: BatchStatus) -> None:
    body = body_of(status)
    event = ApiWebhookEvent.model_validate_json(body)
    assert event.body() == json.loads(body)
    assert event.batch.progress == round(status.progress, 4)


def test_the_real_preview_is_the_described_preview() -> None:
    preview = pipeline.preview((EXAMPLES / "xiaokang-life-2023.json").read_bytes())
    described = ApiPreview.model_validate(preview).body()
    assert described == preview
    assert list(described) == list(preview)


def test_a_body_that_leaves_its_model_is_refused() -> None:
    status = BatchStatus("bat_1", STARTED, None, 1, 1, 0, 0, 0, "none").as_dict()
    with pytest.raises(ValidationError, match="extra"):
        ApiBatchStatus.model_validate({**status, "stray": 1})
    with pytest.raises(ValidationError, match="total"):
        ApiBatchStatus.model_validate({**status, "total": "1"})
