"""Textract's request shapes and paging, checked against the service model by Stubber."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from backoffice.adapters.aws.textract import TextractPdfText


def clients() -> tuple[object, object]:
    common = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    return boto3.client("textract", **common), boto3.client("s3", **common)


def test_start_stores_the_pdf_and_asks_for_a_completion_notice() -> None:
    textract, s3 = clients()
    reader = TextractPdfText(
        textract, s3, "ew-source-pdfs", "arn:aws:sns:us-east-1:1:t", "arn:aws:iam::1:role/r"
    )
    with Stubber(s3) as s3_stub, Stubber(textract) as stub:
        s3_stub.add_response(
            "put_object",
            {},
            {"Bucket": "ew-source-pdfs", "Key": "intake/mail-1/my_policy.pdf", "Body": b"%PDF"},
        )
        stub.add_response(
            "start_document_text_detection",
            {"JobId": "job-1"},
            {
                "DocumentLocation": {
                    "S3Object": {"Bucket": "ew-source-pdfs", "Name": "intake/mail-1/my_policy.pdf"}
                },
                "ClientRequestToken": ANY,
                "JobTag": "intake-mail-1",
                "NotificationChannel": {
                    "SNSTopicArn": "arn:aws:sns:us-east-1:1:t",
                    "RoleArn": "arn:aws:iam::1:role/r",
                },
            },
        )
        assert reader.start("my policy.pdf", b"%PDF", "intake/mail-1") == "job-1"


def test_text_reads_every_page_and_refuses_a_failed_job() -> None:
    textract, s3 = clients()
    reader = TextractPdfText(textract, s3, "b", "t", "r")
    line = {"BlockType": "LINE"}
    with Stubber(textract) as stub:
        stub.add_response(
            "get_document_text_detection",
            {
                "JobStatus": "SUCCEEDED",
                "NextToken": "n2",
                "Blocks": [{"BlockType": "PAGE"}, {**line, "Text": "Page one"}],
            },
            {"JobId": "j"},
        )
        stub.add_response(
            "get_document_text_detection",
            {"JobStatus": "SUCCEEDED", "Blocks": [{**line, "Text": "expires 2027-01-31"}]},
            {"JobId": "j", "NextToken": "n2"},
        )
        assert reader.text("j") == "Page one\nexpires 2027-01-31"
        stub.add_response(
            "get_document_text_detection",
            {"JobStatus": "FAILED", "StatusMessage": "unsupported"},
            {"JobId": "k"},
        )
        with pytest.raises(RuntimeError, match="FAILED"):
            reader.text("k")
