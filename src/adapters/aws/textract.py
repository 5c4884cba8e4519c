"""PDFs read by Textract asynchronously: the job reports to SNS when it is done."""

from __future__ import annotations

import hashlib
import re
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class TextractPdfText:
    def __init__(self, textract: Any, s3: Any, bucket: str, topic_arn: str, role_arn: str) -> None:
        self.textract = textract
        self.s3 = s3
        self.bucket = bucket
        self.topic_arn = topic_arn
        self.role_arn = role_arn

    def start(self, name: str, body: bytes, folder: str) -> str:
        key = f"{folder}/{_UNSAFE.sub('_', name) or 'document.pdf'}"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        response = self.textract.start_document_text_detection(
            DocumentLocation={"S3Object": {"Bucket": self.bucket, "Name": key}},
            ClientRequestToken=hashlib.sha256(key.encode()).hexdigest()[:64],
            JobTag=_UNSAFE.sub("-", folder)[-64:],
            NotificationChannel={"SNSTopicArn": self.topic_arn, "RoleArn": self.role_arn},
        )
        return str(response["JobId"])

    def text(self, job_id: str) -> str:
        lines: list[str] = []
        token = None
        while True:
            request: dict[str, Any] = {"JobId": job_id}
            if token:
                request["NextToken"] = token
            page = self.textract.get_document_text_detection(**request)
            if page["JobStatus"] != "SUCCEEDED":
                raise RuntimeError(
                    f"Textract job {job_id} ended {page['JobStatus']}: "
                    f"{page.get('StatusMessage', '')}"
                )
            lines += [b["Text"] for b in page.get("Blocks", []) if b.get("BlockType") == "LINE"]
            token = page.get("NextToken")
            if not token:
                return "\n".join(lines)
