"""The default engine: faster-whisper (CTranslate2, int8 on the CPU) with Whisper base, multilingual,
from the model wheels hub/voice/model.py checks. It runs in the voice worker's child processes and
loads the model once per child.

For each note: the first 30-second window is encoded once and serves both the language detection
and the first window's decoding (Whisper encodes whole windows, short notes included: that is most
of a short note's cost). The language is the clinic's most likely one (English or Spanish; the
patient's language on record decides a close call), unless the voice is clearly in another, which
is then reported as such. Each segment carries its confidence: the geometric mean of its words'
probabilities (Whisper's own; word timings cost about 8% more CPU). A transcript is low confidence
when it is empty, when the voice is in a language the clinic does not serve, when the language
itself was unclear, when the decoding went round in a loop ("no, no, no, ..." heard in noise), or
when its words are doubtful as a whole or in any one part. The thresholds were set on the bench's
synthetic speech (bench/voice.py): notes with most words wrong fall below them.
"""

from __future__ import annotations

import math
import os

from hub.voice.model import FILES, NAME, ModelFile, ModelProblem, checked_model
from hub.voice.speech import RATE, EngineError, Segment, Transcript, speech_bounds

SERVED = ("en", "es")  # what the clinic answers in (hub.i18n.SUPPORTED), the languages detected
FOREIGN = 0.5  # another language this likely is reported as that language (and low confidence)
LOW = 0.55  # below this confidence (its words' geometric mean probability) the transcript is doubtful
LOW_SEGMENT = 0.4  # ...and so is a transcript with any one segment below this
LOW_LANGUAGE = 0.3  # the chosen language's own probability below this: unclear speech
LOOPING = 2.4  # a segment whose text compresses this well repeats itself: a decoding loop, not speech
HINT = 0.5  # the patient's language on record wins when at least this share of the best's odds
BEAM = 5
# A window whose decoding loops or is improbable is tried once more, sampling a few candidates
# (more tries cost seconds of CPU and memory on exactly the notes a person will read anyway).
TEMPERATURES, SAMPLES = (0.0, 0.5), 3


class FasterWhisperEngine:
    name = f"faster-whisper:{NAME}"

    def __init__(
        self, threads: int = 1, languages: tuple[str, ...] = SERVED, files: dict[str, ModelFile] = FILES
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: the model is a local folder
        from faster_whisper import WhisperModel

        self.languages = languages
        try:
            with checked_model(files) as folder:
                self._model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=threads)
        except ModelProblem as problem:
            raise EngineError(str(problem)) from None

    def transcribe(self, pcm: bytes, language_hint: str | None) -> Transcript:
        import numpy as np
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        start, end = speech_bounds(pcm)
        if end <= start:  # silence: nothing was said
            return Transcript("", None, 0.0, True, self.name, language_probability=0.0)
        offset = start / RATE
        audio = np.frombuffer(pcm, dtype=np.int16, count=end - start, offset=start * 2).astype(np.float32) / 32768.0
        model = self._model
        features = model.feature_extractor(audio)
        frames = features.shape[-1] - 1  # what generate_segments reads of the first window, exactly
        first = model.encode(pad_or_trim(features[:, : min(frames, model.feature_extractor.nb_max_frames)]))
        odds = {token[2:-2]: p for token, p in model.model.detect_language(first)[0]}
        language, foreign = self._language(odds, language_hint)
        tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language=language)
        options = TranscriptionOptions(
            beam_size=BEAM,
            best_of=SAMPLES,
            patience=1,
            length_penalty=1,
            repetition_penalty=1,
            no_repeat_ngram_size=0,
            log_prob_threshold=-1.0,
            no_speech_threshold=None,  # a voice was heard (silence is cut before): keep its words, doubts and all
            compression_ratio_threshold=2.4,
            condition_on_previous_text=False,  # a doubtful window does not lead the next one astray
            prompt_reset_on_temperature=0.5,
            temperatures=list(TEMPERATURES),
            initial_prompt=None,
            prefix=None,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, (-1,)),
            without_timestamps=False,
            max_initial_timestamp=1.0,
            word_timestamps=True,  # each word's probability, for each segment's own confidence
            prepend_punctuations="\"'“¿([{-",
            append_punctuations="\"'.。,，!！?？:：”)]}、",
            multilingual=False,
            max_new_tokens=None,
            clip_timestamps="0",
            hallucination_silence_threshold=None,
            hotwords=None,
        )
        segments, weights, looping = [], [], False
        for s in model.generate_segments(features, tokenizer, options, False, first):
            text = s.text.strip()
            if not text:
                continue
            looping = looping or s.compression_ratio > LOOPING
            if s.words:  # the geometric mean of its words' probabilities
                confidence = math.exp(sum(math.log(max(w.probability, 1e-6)) for w in s.words) / len(s.words))
            else:
                confidence = math.exp(min(0.0, s.avg_logprob))
            start_s, end_s = round(offset + float(s.start), 2), round(offset + float(s.end), 2)
            segments.append(Segment(start_s, end_s, text, round(float(confidence), 3)))
            weights.append(max(1, len(s.tokens)))
        text = " ".join(s.text for s in segments)
        weighted = sum(s.confidence * w for s, w in zip(segments, weights, strict=True))
        confidence = weighted / sum(weights) if weights else 0.0
        language_probability = float(odds.get(language, 0.0))
        low = (
            not text
            or foreign
            or looping
            or language_probability < LOW_LANGUAGE
            or confidence < LOW
            or min(s.confidence for s in segments) < LOW_SEGMENT
        )
        return Transcript(
            text,
            language,
            round(float(confidence), 3),
            bool(low),
            self.name,
            segments=tuple(segments),
            language_probability=round(language_probability, 3),
        )

    def _language(self, odds: dict[str, float], hint: str | None) -> tuple[str, bool]:
        """The clinic's language the voice is most likely in (the record's on a close call), or
        another one when the voice clearly is in it: (language, foreign)."""
        top = max(odds, key=odds.__getitem__)
        if top not in self.languages and odds[top] >= FOREIGN:
            return top, True
        best = max(self.languages, key=lambda lang: odds.get(lang, 0.0))
        hint = (hint or "").split("-")[0].lower()
        if hint in self.languages and odds.get(hint, 0.0) >= HINT * odds.get(best, 0.0):
            best = hint
        return best, False
