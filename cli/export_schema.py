"""Write the SDL that clients generate code from: `python -m cli.export_schema`."""

from pathlib import Path

from core.settings import Settings
from schema.build import build_schema

SDL_PATH = Path(__file__).resolve().parent.parent / "graphql" / "schema.graphql"


def sdl() -> str:
    # Settings only tune limits, which the SDL does not show: the defaults will do.
    return build_schema(Settings.model_construct()).as_str() + "\n"


if __name__ == "__main__":
    SDL_PATH.write_text(sdl())
    print(f"wrote {SDL_PATH}")
