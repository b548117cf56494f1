"""What each GraphQL field does: validate arguments, call db/, publish hints."""
