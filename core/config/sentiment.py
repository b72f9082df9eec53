"""The `sentiment` section: the model and its runtime, topics and risk, and the training corpora,
fine-tuning and prior-shift adaptation under it (docs/model.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from core.config.base import Section

class TopicConfig(Section):
    """One topic of `sentiment.topics`: a description and, optionally, example mentions and its own
    threshold (sentiment.topics says how they are scored). A bare string is the description."""

    description: str = Field(min_length=1)
    examples: tuple[str, ...] = ()
    threshold: float | None = Field(None, ge=-1, le=1)

    @model_validator(mode="before")
    @classmethod
    def _a_string_is_the_description(cls, value: object) -> object:
        return {"description": value} if isinstance(value, str) else value

    @field_validator("examples")
    @classmethod
    def _examples_have_text(cls, examples: tuple[str, ...]) -> tuple[str, ...]:
        if any(not e.strip() for e in examples):
            raise ValueError("an empty example; give the text of a mention about the topic, or leave it out")
        return examples


DEFAULT_TOPICS = {
    "safety": "danger, injury, fire, smoke, burns, unsafe product, health hazard",
    "legal threat": "lawyer, lawsuit, sue, court, legal action, regulator complaint",
    "outage": "service down, not working, cannot log in, app crashes, site unreachable",
    "hacked account": "account hacked, stolen password, unauthorised charges, fraud",
    "cancellation": "cancel my subscription, close my account, switching to a competitor",
}


MAX_TOPIC_NAME = 60


class CorporaConfig(Section):
    """Folders of labelled tweets that `earful train` and `earful eval --tweeteval` read (docs/model.md
    says where to obtain them). Relative paths are from the folder of the configuration file; a
    folder that is not set or not there is no error: training goes on without it and says so."""

    semeval: str | None = None
    tweeteval: str | None = None

    @field_validator("semeval", "tweeteval")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("an empty path; give the folder, or null to go without it")
        return value

    def anchored(self, base_dir: Path) -> CorporaConfig:
        """The same folders, relative ones made absolute from `base_dir`."""
        return self.model_copy(update={name: str((base_dir / Path(value).expanduser()).resolve())
                                       for name, value in (("semeval", self.semeval), ("tweeteval", self.tweeteval))
                                       if value is not None})


class AdaptationConfig(Section):
    """Prior-shift adaptation (sentiment.adaptation, docs/model.md): each own brand's class mix,
    estimated from its recent unlabeled mentions, corrects the sentiment probabilities of its mentions."""

    enabled: bool = True
    window_days: float = Field(14.0, gt=0)
    min_mentions: int = Field(200, ge=1)
    max_mentions: int = Field(20_000, ge=1)  # the newest this many in the window; bounds the job's memory
    interval_seconds: int = Field(3600, ge=60)
    tolerance: float = Field(1e-6, gt=0, lt=1)
    max_iterations: int = Field(1, ge=1, le=100_000)  # one EM step: see docs/model.md, "Prior shift"

    @model_validator(mode="after")
    def _enough_room(self) -> AdaptationConfig:
        if self.min_mentions > self.max_mentions:
            raise ValueError(f"min_mentions ({self.min_mentions}) is above max_mentions ({self.max_mentions}); "
                             "no brand could ever be adapted")
        return self


class FineTuneConfig(Section):
    """`earful train --fine-tune` (sentiment.fine_tune, docs/model.md "Fine-tuning"): the encoder and a
    3-class head trained end to end, within a wall-time bound, checkpointed so a stopped run resumes."""

    max_minutes: float = Field(60.0, gt=0)  # per invocation; the run checkpoints and stops at it
    max_steps: int | None = Field(None, ge=1)  # optimiser steps in all (the schedule's length); null: every epoch
    epochs: int = Field(1, ge=1, le=100)
    learning_rate: float = Field(5e-5, gt=0, lt=1)  # the encoder's
    head_learning_rate: float = Field(1e-3, gt=0, lt=1)  # the new head's, on unit-length vectors
    warmup_fraction: float = Field(0.06, ge=0, le=0.5)
    batch_size: int = Field(32, ge=1, le=1024)
    max_length: int = Field(64, ge=8, le=512)
    checkpoint_every: int = Field(200, ge=1)
    checkpoint_dir: str | None = None  # null: fine-tune/checkpoints in the data directory (paths.data_dir)
    output_dir: str | None = None  # null: fine-tune/models in the data directory (paths.data_dir)
    seed: int = Field(0, ge=0)

    @field_validator("checkpoint_dir", "output_dir")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("an empty path; give a folder, or null for the default in paths.data_dir")
        return value

    def anchored(self, base_dir: Path) -> FineTuneConfig:
        """The same folders, relative ones made absolute from `base_dir`."""
        return self.model_copy(update={name: str((base_dir / Path(value).expanduser()).resolve())
                                       for name, value in (("checkpoint_dir", self.checkpoint_dir),
                                                           ("output_dir", self.output_dir))
                                       if value is not None})


class SentimentConfig(Section):
    model: str = "all-MiniLM-L6-v2"
    batch_size: int = Field(64, ge=1, le=4096)
    max_length: int = Field(128, ge=8, le=512)
    threads: int = Field(0, ge=0)
    spin_wait: bool = False  # ONNX Runtime's idle intra-op threads spin before sleeping (docs/config.md)
    topics: dict[str, TopicConfig] = Field(
        default_factory=lambda: {name: TopicConfig(description=text) for name, text in DEFAULT_TOPICS.items()})
    topic_threshold: float = Field(0.35, ge=-1, le=1)
    # A mention keeps its most similar topics, at most this many: a mention "about everything" says
    # nothing, and the list stays small enough for the period index that carries it (docs/config.md).
    max_topics: int = Field(5, ge=1, le=10)
    risk_topics: tuple[str, ...] = tuple(DEFAULT_TOPICS)
    reach_followers: int = Field(10_000, ge=0)
    velocity_per_hour: float = Field(20.0, gt=0)
    correction_weight: int = Field(5, ge=1, le=1000)
    interval_seconds: int = Field(15, ge=1)
    quantize: Literal["int8", "none"] = "int8"
    # Scoring runtime: auto = torch on a CUDA GPU, ONNX Runtime on CPU (docs/model.md).
    runtime: Literal["auto", "onnx", "torch"] = "auto"
    train_at: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    corpora: CorporaConfig = CorporaConfig()
    adaptation: AdaptationConfig = AdaptationConfig()
    fine_tune: FineTuneConfig = FineTuneConfig()

    @field_validator("topics")
    @classmethod
    def _topic_names_are_short(cls, topics: dict[str, str]) -> dict[str, str]:
        long = [name for name in topics if not 1 <= len(name.strip()) <= MAX_TOPIC_NAME]
        if long:
            raise ValueError(f"topic names must be 1 to {MAX_TOPIC_NAME} characters (the description can be longer): "
                             f"{long}")
        return topics

    @model_validator(mode="after")
    def _risk_topics_exist(self) -> SentimentConfig:
        unknown = [t for t in self.risk_topics if t not in self.topics]
        if unknown:
            raise ValueError(f"risk_topics {unknown} are not among sentiment.topics; add a description for each")
        return self
