"""The bottom layer: errors, result types and text utilities that both `index/` and `assistant/`
use. It imports nothing else of the project, so either layer can depend on it."""
