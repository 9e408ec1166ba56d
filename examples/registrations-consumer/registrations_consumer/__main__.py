"""python -m registrations_consumer"""

from registrations_consumer.app import main

main()
