"""Morocco's school records as Massar keeps them: shared by the school node and the central server."""
