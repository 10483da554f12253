"""Token limit: the parser stops after this many lexical tokens (Strawberry's
`MaxTokensLimiter`); the error is reworded to name the limit and carry a typed code."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import MaxTokensLimiter

ENV_VAR = "RELATA_MAX_TOKENS"


class TokenLimiter(MaxTokensLimiter):
    def on_parse(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or []:
            if "tokens. Parsing aborted" in error.message:
                error.message = (
                    f"the query has more than {self.max_token_count} tokens; the token limit is"
                    f" {self.max_token_count} ({ENV_VAR})"
                )
                error.extensions = {
                    "code": "BAD_USER_INPUT",
                    "limit": "tokens",
                    "maximum": self.max_token_count,
                    "value": self.max_token_count + 1,
                }
