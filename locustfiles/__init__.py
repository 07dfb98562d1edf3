"""swarmgate's Locust users, their journeys, and the recorders every locustfile imports."""
