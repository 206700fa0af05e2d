"""The card for a scored statement, as the publish stage needs it: attributions from the shipped
artifact (IG graph when present, else leave-one-out, else none), rendered once and shared by
every channel that publishes the statement.

Attribution is best effort: when it fails the card is still drawn, without word shading, and
says so. A card that cannot be drawn raises ``CardError``; the publish stage dead-letters it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cards.build import card_data
from cards.render import render_card
from config.log import get_logger
from config.settings import CardsSettings, Settings
from publishers.base import CardImage
from streams.records import ScoredStatement

log = get_logger(__name__)


class ArtifactCardMaker:
    def __init__(self, artifact_dir: str, cards: CardsSettings, max_length: int) -> None:
        from inference.scorer import Scorer

        self._dir = artifact_dir
        self._settings = cards
        self._scorer = Scorer.from_artifact(artifact_dir, max_length=max_length, provider="cpu")
        self._method: Any = None
        self._cache: OrderedDict[str, CardImage] = OrderedDict()
        self._out = Path(cards.out_dir) if cards.out_dir else None

    @classmethod
    def from_settings(cls, settings: Settings) -> ArtifactCardMaker:
        return cls(settings.model.artifact_path, settings.cards, settings.model.max_length)

    def _attributor(self) -> Any:
        if self._method is None and self._settings.attribution != "none":
            from inference.attributions import load_attributor

            self._method = load_attributor(
                self._dir,
                steps=self._settings.ig_steps,
                ig_filename=self._settings.ig_graph_file,
                prefer=self._settings.attribution,
                scoring_filename=str(self._scorer.manifest["model_file"]),
            )
            log.info("card attributions", method=self._method.describe())
        return self._method

    def _attributions(self, scored: ScoredStatement) -> tuple[Any, str]:
        from inference.attributions import attribute
        from inference.model_input import statement_input_text

        method = self._attributor()
        if method is None:
            return None, ""
        try:
            found = attribute(
                method,
                self._scorer.tokenizer,
                statement_input_text(scored.statement),
                scored.statement.text,
                baseline="mask" if method.method_name == "leave-one-out" else "pad",
                max_tokens=self._scorer.max_length,
            )
        except Exception as exc:  # a card without shading beats no card
            log.warning(
                "attribution failed; card drawn without shading",
                id=scored.statement.id,
                error=str(exc),
            )
            return None, ""
        return found, ", transformer part" if self._scorer.tfidf is not None else ""

    def _bucket_row(self, scored: ScoredStatement) -> Any:
        from inference.buckets import lookup

        table = self._scorer.table
        same_model = scored.model_version == self._scorer.model_version
        if same_model and 0 <= scored.bucket < len(table):
            return table[scored.bucket]
        return lookup(table, scored.p_false)

    def render(self, scored: ScoredStatement) -> CardImage:
        st = scored.statement
        attributions, suffix = self._attributions(scored)
        said_at = datetime.fromisoformat(st.said_at).astimezone(UTC)
        data = card_data(
            statement=st.text,
            p_false=scored.p_false,
            bucket_row=self._bucket_row(scored),
            global_summary=self._scorer.buckets["global"],
            speaker=st.author,
            said_at=said_at,
            source_url=st.url,
            model_version=scored.model_version,
            statement_id=st.id[:10],
            attributions=attributions,
            method_suffix=suffix,
        )
        rendered = render_card(data)
        if self._out is not None:
            self._out.mkdir(parents=True, exist_ok=True)
            (self._out / f"{st.id}.png").write_bytes(rendered.png)
        return CardImage(png=rendered.png, alt_text=rendered.alt_text)

    async def card_for(self, scored: ScoredStatement) -> CardImage:
        key = f"{scored.statement.id}:{scored.model_version}"
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        card = await asyncio.to_thread(self.render, scored)
        if self._settings.cache_size:
            self._cache[key] = card
            while len(self._cache) > self._settings.cache_size:
                self._cache.popitem(last=False)
        return card
