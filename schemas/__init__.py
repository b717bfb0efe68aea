"""Wire format shared by the stream processors and the API."""
