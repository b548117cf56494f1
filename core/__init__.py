"""Framework-free pieces shared by the database, GraphQL and HTTP layers."""
