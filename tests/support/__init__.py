"""Test support: synthetic records, two OAI-PMH providers, server helpers, XSD checks.

Import as ``support.<module>`` from test files (pytest puts tests/ on sys.path because
tests/ has no __init__.py); modules import each other relatively, so ``tests.support``
works too if tests/ becomes a package.
"""
