"""Plain language: medical jargon in a draft and the plain words for it (glossary.py), how readable a
draft is (readability.py), and the route the composer and the template editor ask (controllers.py)."""
