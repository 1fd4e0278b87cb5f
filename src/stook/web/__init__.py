"""``stook web``: describe documents, browse the store and watch its fixity in a browser.

The same store, the same rules, no second source of truth: records are checked by
the validator ``stook validate`` uses and bagged by :func:`stook.manual.bag_manual_record`
(what ``stook bag`` calls); audits are :func:`stook.audit.run_audit`. The pieces:
``formspec`` (the form, generated from the record schema), ``formdata`` (form values
to and from records), ``submission`` (checking and bagging a submit), ``uploads``,
``entry``, ``browse``, ``bagview``, ``dashboard`` and ``dashboard_views``, ``auditjob``,
``auth`` and ``users``, ``app`` (the Flask application) and ``server`` (waitress).

Import :func:`stook.web.app.create_app` or :func:`stook.web.server.serve_web` from
their modules: this package imports nothing heavy by itself.
"""
